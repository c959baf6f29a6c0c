// Provider conformance: custom status and its version.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, bootstrap, event, external, fetchFor } from "./fixtures.js";
import { type SuiteContext } from "./harness.js";

export function registerCustomStatus({ test }: SuiteContext): void {
  describe("custom status", () => {
    test("set, clear and preserve; the version increments once per ack", async (p) => {
      await bootstrap(p, "a");
      assert.equal((await p.getStatus("a"))?.customStatusVersion, 0);
      const turn = async (eventsKinds: ({ type: "CustomStatusUpdated"; status: string | null } | { type: "ExternalEvent"; name: string; data: string })[]) => {
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        const base = (await p.read("a")).length;
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: eventsKinds.map((k, i) => event("a", 1, base + 1 + i, k)) }),
        );
        return p.getStatus("a");
      };
      let st = await turn([{ type: "CustomStatusUpdated", status: "one" }]);
      assert.equal(st?.customStatus, "one");
      assert.equal(st?.customStatusVersion, 1);
      st = await turn([
        { type: "CustomStatusUpdated", status: "two" },
        { type: "CustomStatusUpdated", status: "three" },
      ]);
      assert.equal(st?.customStatus, "three");
      assert.equal(st?.customStatusVersion, 2);
      st = await turn([{ type: "ExternalEvent", name: "evt", data: "1" }]);
      assert.equal(st?.customStatus, "three");
      assert.equal(st?.customStatusVersion, 2);
      st = await turn([{ type: "CustomStatusUpdated", status: null }]);
      assert.equal(st?.customStatus, null);
      assert.equal(st?.customStatusVersion, 3);
    });
  });
}
