// Provider conformance: activity heartbeats and the fencing of lost attempts. A heartbeating item
// is leased for its own heartbeat timeout; renewals can store heartbeat details that the next
// delivery reports; a lease that lapsed is reported as such; and once an item moved on, nothing
// its lost holder sends (ack, renewal, details) is recorded.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { activityItem, bootstrap, completed, fetchFor, sleep } from "./fixtures.js";
import { NO_TAGS, isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerHeartbeats({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  const heartbeating = (id: number) => ({ ...activityItem("a", id), heartbeatTimeoutMs: SHORT });

  describe("heartbeats and fencing", () => {
    test("an item with a heartbeat timeout is leased for that timeout, not the lock timeout", async (p) => {
      await p.enqueueForWorker(heartbeating(1));
      const first = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(first);
      assert.equal(first.lapsed ?? false, false, "a first delivery has no lapsed predecessor");
      assert.equal(first.heartbeatDetails ?? null, null);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null, "leased while the heartbeat timeout runs");
      await sleep(PAST);
      const second = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(second, "a silent lease lapses after the heartbeat timeout, long before the lock timeout");
      assert.equal(second.item.id, 1);
      assert.equal(second.attemptCount, 2);
      assert.equal(second.lapsed, true, "the previous lease lapsed without an ack or abandon");
    });

    test("items without a heartbeat timeout keep the lock timeout", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      assert.ok(await p.fetchWorkItem(LOCK, NO_TAGS));
      await sleep(PAST);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("renewal stores heartbeat details; the next delivery reports them; renewal without details keeps them", async (p) => {
      await p.enqueueForWorker(heartbeating(1));
      const l1 = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(l1);
      await p.renewWorkItemLock(l1.lockToken, SHORT, JSON.stringify({ done: 3 }));
      await p.renewWorkItemLock(l1.lockToken, SHORT * 4);
      await sleep(PAST);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null, "a heartbeat renews the lease");
      await p.abandonWorkItem(l1.lockToken);
      const l2 = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(l2);
      assert.equal(l2.heartbeatDetails, JSON.stringify({ done: 3 }));
      assert.equal(l2.lapsed ?? false, false, "an abandoned lease did not lapse");
      await p.renewWorkItemLock(l2.lockToken, SHORT, JSON.stringify({ done: 7 }));
      await sleep(PAST);
      const l3 = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(l3);
      assert.equal(l3.lapsed, true);
      assert.equal(l3.heartbeatDetails, JSON.stringify({ done: 7 }));
    });

    test("a lost holder is fenced: its ack, renewal and heartbeat details are rejected once the item moved on", async (p) => {
      await bootstrap(p, "a", { workerItems: [heartbeating(1)] });
      const lost = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(lost);
      await p.renewWorkItemLock(lost.lockToken, SHORT, '"from the lost one"');
      await sleep(PAST);
      const next = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(next);
      await assert.rejects(p.renewWorkItemLock(lost.lockToken, SHORT, '"late"'), isPermanentProviderError());
      await assert.rejects(p.ackWorkItem(lost.lockToken, completed("a", 1, '"late result"')), isPermanentProviderError());
      assert.equal(await p.fetchOrchestrationItem(LOCK), null, "no completion may leak from the fenced ack");
      await p.renewWorkItemLock(next.lockToken, LOCK, '"current"');
      await p.ackWorkItem(next.lockToken, completed("a", 1, '"current result"'));
      const orch = await fetchFor(p, "a");
      assert.deepEqual(orch.messages, [completed("a", 1, '"current result"')]);
    });

    test("a late heartbeat after the lease lapsed is rejected even if nobody took the item", async (p) => {
      await p.enqueueForWorker(heartbeating(1));
      const l = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(l);
      await sleep(PAST);
      await assert.rejects(p.renewWorkItemLock(l.lockToken, SHORT, '"late"'), isPermanentProviderError());
      const again = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(again);
      assert.equal(again.heartbeatDetails ?? null, null, "the rejected heartbeat stored nothing");
    });
  });
}
