// Provider conformance: instance KV state across turns and executions.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ORCH_NAME, ORCH_VERSION, ack, bootstrap, event, external, fetchFor, started } from "./fixtures.js";
import { type SuiteContext } from "./harness.js";

export function registerKeyValue({ test }: SuiteContext): void {
  describe("key-value state", () => {
    const kvSet = (inst: string, exec: number, id: number, key: string, value: string) =>
      event(inst, exec, id, { type: "KeyValueSet", key, value, lastUpdatedAtMs: 1000 + id });

    test("set, overwrite, clear and read back", async (p) => {
      await bootstrap(p, "a", {
        historyDelta: [kvSet("a", 1, 2, "k1", "v1"), kvSet("a", 1, 3, "k2", "v2"), kvSet("a", 1, 4, "k1", "v1b")],
      });
      assert.equal(await p.getKvValue("a", "k1"), "v1b");
      assert.equal(await p.getKvValue("a", "k2"), "v2");
      assert.equal(await p.getKvValue("a", "missing"), null);
      assert.equal(await p.getKvValue("unknown", "k1"), null);
      assert.deepEqual(await p.getKvAllValues("a"), { k1: "v1b", k2: "v2" });
      assert.deepEqual(await p.getKvAllValues("unknown"), {});

      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.kvSnapshot, {}, "the snapshot excludes the current execution's writes");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, { historyDelta: [event("a", 1, 5, { type: "KeyValueCleared", key: "k2" }), event("a", 1, 6, { type: "KeyValueCleared", key: "nope" })] }),
      );
      assert.equal(await p.getKvValue("a", "k2"), null);
      assert.deepEqual(await p.getKvAllValues("a"), { k1: "v1b" });
    });

    test("terminal acks merge the delta into the snapshot", async (p) => {
      await bootstrap(p, "a", { historyDelta: [kvSet("a", 1, 2, "k", "v"), kvSet("a", 1, 3, "gone", "x")] });
      await p.enqueueForOrchestrator(external("a"));
      let item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [
            event("a", 1, 4, { type: "KeyValueCleared", key: "gone" }),
            event("a", 1, 5, { type: "OrchestrationCompleted", output: "1" }),
          ],
          metadata: { status: "Completed", output: "1" },
        }),
      );
      assert.deepEqual(await p.getKvAllValues("a"), { k: "v" });
      await p.enqueueForOrchestrator(external("a"));
      item = await fetchFor(p, "a");
      assert.deepEqual(item.kvSnapshot, { k: { value: "v", lastUpdatedAtMs: 1002 } });
    });

    test("continue-as-new merges, and clear-all tombstones earlier executions' keys", async (p) => {
      await bootstrap(p, "a", {
        historyDelta: [kvSet("a", 1, 2, "a1", "x"), kvSet("a", 1, 3, "a2", "y"), event("a", 1, 4, { type: "OrchestrationContinuedAsNew", input: "2" })],
        metadata: { status: "ContinuedAsNew", output: "2" },
        orchestratorItems: [
          { type: "ContinueAsNew", instance: "a", orchestration: ORCH_NAME, input: "2", version: ORCH_VERSION, carryForwardEvents: [], initialCustomStatus: null, parent: null },
        ],
      });
      let item = await fetchFor(p, "a");
      assert.deepEqual(Object.keys(item.kvSnapshot).sort(), ["a1", "a2"]);
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(2, { historyDelta: [started("a", 2, 1, "2"), event("a", 2, 2, { type: "KeyValuesCleared" }), kvSet("a", 2, 3, "b1", "z")] }),
      );
      assert.equal(await p.getKvValue("a", "a1"), null);
      assert.equal(await p.getKvValue("a", "b1"), "z");
      assert.deepEqual(await p.getKvAllValues("a"), { b1: "z" });
      await p.enqueueForOrchestrator(external("a"));
      item = await fetchFor(p, "a");
      assert.deepEqual(Object.keys(item.kvSnapshot).sort(), ["a1", "a2"], "snapshot = previous executions only");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(2, { historyDelta: [event("a", 2, 4, { type: "OrchestrationCompleted", output: "0" })], metadata: { status: "Completed", output: "0" } }),
      );
      assert.deepEqual(await p.getKvAllValues("a"), { b1: "z" });
      await p.enqueueForOrchestrator(external("a"));
      item = await fetchFor(p, "a");
      assert.deepEqual(Object.keys(item.kvSnapshot), ["b1"]);
    });

    test("unusual keys and values round-trip; instances are isolated", async (p) => {
      const big = "x".repeat(64 * 1024);
      await bootstrap(p, "a", {
        historyDelta: [kvSet("a", 1, 2, "__proto__", "p"), kvSet("a", 1, 3, "a/b c:ü", ""), kvSet("a", 1, 4, "big", big)],
      });
      await bootstrap(p, "b", { historyDelta: [kvSet("b", 1, 2, "only-b", "1")] });
      assert.equal(await p.getKvValue("a", "__proto__"), "p");
      assert.equal(await p.getKvValue("a", "a/b c:ü"), "");
      assert.equal(await p.getKvValue("a", "big"), big);
      const all = await p.getKvAllValues("a");
      assert.deepEqual(Object.keys(all).sort(), ["__proto__", "a/b c:ü", "big"].sort());
      assert.equal(await p.getKvValue("a", "only-b"), null);
      assert.deepEqual(await p.getKvAllValues("b"), { "only-b": "1" });
    });
  });
}
