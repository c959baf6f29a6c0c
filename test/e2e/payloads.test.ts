// Payload checks at the call site, on both stores: values JSON cannot carry faithfully are rejected
// naming the path, oversized payloads are rejected with their size and limit, and nothing is stored.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_PAYLOAD_BYTES,
  PayloadTooLargeError,
  UnsupportedPayloadError,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

const cycle: Record<string, unknown> = { a: 1 };
cycle["self"] = { back: cycle };

/** [value, path, reason pattern] — each must be refused, never silently changed. */
const UNFAITHFUL: Array<[unknown, string, RegExp]> = [
  [{ when: new Date(0) }, "$.when", /a Date is not a plain object/],
  [{ m: new Map([["k", 1]]) }, "$.m", /a Map/],
  [[1, new Set([1])], "$[1]", /a Set/],
  [{ n: NaN }, "$.n", /NaN is not a JSON number/],
  [{ list: [1, undefined, 3] }, "$.list[1]", /undefined would become null/],
  [{ big: 10n }, "$.big", /BigInt/],
  [{ f: () => 1 }, "$.f", /a function/],
  [{ "odd key": [Infinity] }, '$["odd key"][0]', /Infinity/],
  [cycle, "$.self.back", /cycle/],
  // eslint-disable-next-line no-sparse-arrays
  [[1, , 3], "$[1]", /hole/],
];

for (const kind of PROVIDERS) {
  describe(`[${kind}] payloads are checked where they are handed over`, () => {
    it("client: unfaithful values are refused naming the path, nothing stored", async () => {
      const h = await harness((rt) => rt.registerOrchestration("O", async (ctx: OrchestrationContext) => ctx.waitForEvent("e")), {}, kind);
      try {
        for (const [value, path, reason] of UNFAITHFUL) {
          const err = await h.client.startOrchestration("x", "O", value).then(
            () => null,
            (e: unknown) => e,
          );
          assert.ok(err instanceof UnsupportedPayloadError, `${path}: ${String(err)}`);
          assert.equal(err.path, path);
          assert.equal(err.code, "UnsupportedPayload");
          assert.match(err.message, reason);
          assert.match(err.message, /^orchestration input cannot be stored as JSON/);
        }
        assert.equal((await h.client.getStatus("x")).status, "NotFound");
        // Accepted: plain data, and undefined properties (dropped as optional fields).
        await h.client.startOrchestration("x", "O", { a: [1, "two", null, { b: true }], skip: undefined });
        await assert.rejects(h.client.raiseEvent("x", "e", { at: new Date() }), /event data cannot be stored as JSON: a Date .* at \$\.at/);
        await assert.rejects(h.client.enqueueEvent("x", "q", [1n]), UnsupportedPayloadError);
        await h.client.raiseEvent("x", "e", { ok: 1 });
        assert.deepEqual(await h.client.waitForOrchestrationTyped("x", 10_000), { ok: 1 });
      } finally {
        await h.close();
      }
    });

    it("client: oversized inputs and events are refused with size and limit, nothing stored", async () => {
      const h = await harness((rt) => rt.registerOrchestration("O", async (ctx: OrchestrationContext) => ctx.waitForEvent("e")), {}, kind);
      try {
        const big = "x".repeat(MAX_PAYLOAD_BYTES);
        const err = await h.client.startOrchestration("big", "O", { big }).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof PayloadTooLargeError);
        assert.equal(err.limitBytes, MAX_PAYLOAD_BYTES);
        assert.equal(err.sizeBytes, MAX_PAYLOAD_BYTES + 10);
        assert.equal((await h.client.getStatus("big")).status, "NotFound");
        await h.client.startOrchestration("ok", "O", "x".repeat(MAX_PAYLOAD_BYTES - 2));
        await assert.rejects(h.client.raiseEvent("ok", "e", big), /event data is \d+ bytes, over the limit of 2097152 bytes/);
        await h.client.raiseEvent("ok", "e", "small");
        assert.equal((await h.client.waitForOrchestration("ok", 10_000)).status, "Completed");
      } finally {
        await h.close();
      }
    });

    it("orchestration code and activities: bad payloads fail at the call with the path", async () => {
      const ran: string[] = [];
      const h = await harness((rt) => {
        rt.registerActivity("Echo", async (_c, v: unknown) => {
          ran.push("Echo");
          return v;
        });
        rt.registerActivity("ReturnsMap", async () => new Map([["a", 1]]));
        rt.registerActivity("ReturnsHuge", async () => "y".repeat(MAX_PAYLOAD_BYTES + 1));
        rt.registerOrchestration("BadInput", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Echo", { at: [new Date(0)] }));
        rt.registerOrchestration("Caught", async (ctx: OrchestrationContext) => {
          try {
            await ctx.scheduleActivity("Echo", { n: NaN });
          } catch (err) {
            return `caught: ${(err as Error).name}`;
          }
          return "not caught";
        });
        rt.registerOrchestration("BadResult", async (ctx: OrchestrationContext) => ctx.scheduleActivity("ReturnsMap"));
        rt.registerOrchestration("HugeResult", async (ctx: OrchestrationContext) => ctx.scheduleActivity("ReturnsHuge"));
        rt.registerOrchestration("BadOutput", async () => ({ s: new Set() }));
      }, {}, kind);
      try {
        const cases: Array<[string, RegExp]> = [
          ["BadInput", /input of activity 'Echo' cannot be stored as JSON: a Date .* at \$\.at\[0\]/],
          ["BadResult", /result of activity 'ReturnsMap' cannot be stored as JSON: a Map .* at \$/],
          ["HugeResult", /result of activity 'ReturnsHuge' is 2097155 bytes, over the limit of 2097152 bytes/],
          ["BadOutput", /orchestration output cannot be stored as JSON: a Set .* at \$\.s/],
        ];
        for (const [name] of cases) await h.client.startOrchestration(name, name);
        await h.client.startOrchestration("Caught", "Caught");
        for (const [name, pattern] of cases) {
          const r = await h.client.waitForOrchestration(name, 10_000);
          assert.equal(r.status, "Failed", name);
          assert.match(r.error ?? "", pattern, name);
        }
        assert.equal(await h.client.waitForOrchestrationTyped("Caught", 10_000), "caught: UnsupportedPayloadError");
        assert.deepEqual(ran, [], "no activity was scheduled with a bad input");
        const history = await h.client.readHistory("BadInput");
        assert.equal(history.filter((e) => e.type === "ActivityScheduled").length, 0);
      } finally {
        await h.close();
      }
    });
  });
}
