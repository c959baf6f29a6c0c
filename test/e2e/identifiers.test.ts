// Identifiers are checked once, at the API boundary, the same way for both stores: well-formed
// Unicode, no NUL, at most MAX_IDENTIFIER_BYTES of UTF-8, else InvalidIdentifierError and nothing
// stored. A SQLite store that already holds a lone-surrogate id (written before the check) must
// not let it block every other instance.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidIdentifierError, MAX_IDENTIFIER_BYTES, Runtime, type OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

const LONE = "😀".slice(0, 1);
const BAD: Array<[string, string]> = [
  ["lone high surrogate", `sur-\uD800`],
  ["lone low surrogate", `sur-\uDC00`],
  ["NUL", "a\u0000b"],
  ["too long", "x".repeat(MAX_IDENTIFIER_BYTES + 1)],
  ["too long in UTF-8", "é".repeat(MAX_IDENTIFIER_BYTES / 2 + 1)],
  ["empty", ""],
];

function isInvalidId(err: unknown): boolean {
  return err instanceof InvalidIdentifierError && err.code === "InvalidIdentifier";
}

for (const kind of PROVIDERS) {
  describe(`identifiers (${kind})`, () => {
    it("client calls reject bad ids and names with InvalidIdentifierError and store nothing", async () => {
      const h = await harness((rt) => rt.registerOrchestration("Wait", async (ctx: OrchestrationContext) => ctx.waitForEvent("go")), {}, kind);
      try {
        await h.client.startOrchestration("ok", "Wait", null);
        for (const [label, bad] of BAD) {
          await assert.rejects(h.client.startOrchestration(bad, "Wait", null), isInvalidId, `instance id: ${label}`);
          await assert.rejects(h.client.startOrchestration("fine", bad, null), isInvalidId, `orchestration name: ${label}`);
          await assert.rejects(h.client.raiseEvent("ok", bad, 1), isInvalidId, `event name: ${label}`);
          await assert.rejects(h.client.enqueueEvent("ok", bad, 1), isInvalidId, `queue name: ${label}`);
          await assert.rejects(h.client.getStatus(bad), isInvalidId, `getStatus: ${label}`);
          await assert.rejects(h.client.getValue("ok", bad), isInvalidId, `KV key: ${label}`);
        }
        assert.equal((await h.client.getStatus("fine")).status, "NotFound");
        assert.equal((await h.client.getQueueDepths()).orchestratorQueue <= 1, true);
        // The longest id allowed round-trips.
        const longest = "é".repeat(MAX_IDENTIFIER_BYTES / 2);
        await h.client.startOrchestration(longest, "Wait", null);
        await h.client.raiseEvent(longest, "go", "x");
        const s = await h.client.waitForOrchestration(longest, 10_000);
        assert.equal(s.status, "Completed");
        assert.equal((await h.client.getStatus(longest)).output, '"x"');
      } finally {
        await h.close();
      }
    });

    it("orchestration code using a bad KV key or event name fails with the typed error; registration rejects bad names", async () => {
      const h = await harness(
        (rt) =>
          rt.registerOrchestration("BadKey", async (ctx: OrchestrationContext) => {
            ctx.setKvValue(`k${LONE}`, "v");
            return "unreachable";
          }),
        {},
        kind,
      );
      try {
        await h.client.startOrchestration("bk", "BadKey", null);
        const s = await h.client.waitForOrchestration("bk", 10_000);
        assert.equal(s.status, "Failed");
        assert.match(String(s.error ?? s.output), /KV key is not well-formed Unicode/);
      } finally {
        await h.close();
      }
      const rt = new Runtime(h.provider);
      assert.throws(() => rt.registerActivity(`a${LONE}`, async () => 1), isInvalidId);
      assert.throws(() => rt.registerOrchestration("a\u0000", async () => 1), isInvalidId);
    });
  });
}

describe("identifiers (sqlite store that already holds a lone-surrogate id)", () => {
  it("the bad row is moved aside and other instances run", { timeout: 30_000 }, async () => {
    const h = await harness((rt) => rt.registerOrchestration("Hello", async () => "hi"), {}, "sqlite");
    try {
      // As a version without the boundary check wrote it: straight through the provider.
      await h.provider.createInstance({
        type: "StartOrchestration",
        instance: `bad-${LONE}`,
        orchestration: "Hello",
        input: "null",
        version: null,
        parent: null,
        executionId: 1,
      });
      for (let i = 0; i < 3; i++) await h.client.startOrchestration(`good-${i}`, "Hello", null);
      for (let i = 0; i < 3; i++) assert.equal((await h.client.waitForOrchestration(`good-${i}`, 10_000)).status, "Completed");
      assert.equal((await h.client.getQueueDepths()).orchestratorQueue, 0);
    } finally {
      await h.close();
    }
  });
});
