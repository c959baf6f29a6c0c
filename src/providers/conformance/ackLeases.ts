// Provider conformance: an orchestrator ack that leases some of its new worker items to the acking
// process (`OrchestrationAck.leaseWorkerItems`). Optional for a provider: one that returns no
// leases must leave the items fetchable. With `ackLeases: true` the provider promises to lease.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, activityItem, completed, fetchFor, sleep, started, startItem } from "./fixtures.js";
import { NO_TAGS, isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerAckLeases({ test, LOCK, SHORT, PAST }: SuiteContext, exact: boolean): void {
  describe("ack leases (work handed to the acking process)", () => {
    test("leased items are locked to the caller in the ack; the others stay fetchable", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      const result = await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [started("a")],
          workerItems: [activityItem("a", 2), activityItem("a", 3), activityItem("a", 4)],
          leaseWorkerItems: { indexes: [2, 0], lockTimeoutMs: LOCK },
        }),
      );
      const leases = result?.leases ?? [];
      if (leases.length === 0) {
        assert.equal(exact, false, "the provider promised to lease");
        for (let i = 0; i < 3; i++) assert.ok(await p.fetchWorkItem(LOCK, NO_TAGS));
        return;
      }
      assert.deepEqual(
        leases.map((l) => l.item),
        [activityItem("a", 4), activityItem("a", 2)],
      );
      for (const l of leases) {
        assert.equal(l.attemptCount, 1);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: l.item.id }), true);
      }
      assert.notEqual(leases[0]!.lockToken, leases[1]!.lockToken);
      // Only the item not leased can be fetched.
      const fetched = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(fetched?.item.id, 3);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      // A leased item is acked like a fetched one: deleted, its completion queued, atomically.
      await p.ackWorkItem(leases[0]!.lockToken, completed("a", 4));
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), false);
      const next = await fetchFor(p, "a");
      assert.deepEqual(next.messages, [completed("a", 4)]);
      await assert.rejects(p.ackWorkItem(leases[0]!.lockToken, null), isPermanentProviderError());
    });

    test("a leased item whose holder is lost is fetched again after its lock expires", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      const result = await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, { historyDelta: [started("a")], workerItems: [activityItem("a", 2)], leaseWorkerItems: { indexes: [0], lockTimeoutMs: SHORT } }),
      );
      const leases = result?.leases ?? [];
      assert.equal(leases.length, exact ? 1 : leases.length);
      if (leases.length === 0) return;
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      await sleep(PAST);
      const again = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(again);
      assert.equal(again.item.id, 2);
      assert.equal(again.attemptCount, 2);
      assert.equal(again.lapsed, true);
      await assert.rejects(p.ackWorkItem(leases[0]!.lockToken, completed("a", 2)), isPermanentProviderError());
    });

    test("an ack that fails leases nothing", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [started("a")] }));
      await assert.rejects(
        p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { workerItems: [activityItem("a", 2)], leaseWorkerItems: { indexes: [0], lockTimeoutMs: LOCK } }),
        ),
        isPermanentProviderError(),
      );
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
    });
  });
}
