// Provider conformance: activity work items: fetch, lock, renew, ack, abandon.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { activityItem, bootstrap, completed, fetchFor, sleep } from "./fixtures.js";
import { NO_TAGS, ANY, isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerWorkerQueue({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  describe("worker queue", () => {
    test("FIFO order and immediate visibility", async (p) => {
      for (let i = 1; i <= 5; i++) await p.enqueueForWorker(activityItem("a", i));
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.ok(lease);
        assert.equal(lease.attemptCount, 1);
        ids.push(lease.item.id);
      }
      assert.deepEqual(ids, [1, 2, 3, 4, 5]);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("peek-lock: a fetched item is hidden until ack or expiry", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      const first = await p.fetchWorkItem(SHORT, NO_TAGS);
      assert.ok(first);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), true);
      await sleep(PAST);
      const second = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(second);
      assert.equal(second.attemptCount, 2);
      assert.notEqual(second.lockToken, first.lockToken);
      await assert.rejects(p.ackWorkItem(first.lockToken, null), isPermanentProviderError());
      await p.ackWorkItem(second.lockToken, null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), false);
    });

    test("ack deletes the item and enqueues its completion atomically", async (p) => {
      await bootstrap(p, "a", { workerItems: [activityItem("a", 2)] });
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(lease);
      await p.ackWorkItem(lease.lockToken, completed("a", 2, '"r"'));
      assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.messages, [completed("a", 2, '"r"')]);
      await assert.rejects(p.ackWorkItem(lease.lockToken, null), isPermanentProviderError());
    });

    test("ack with no completion deletes without enqueueing", async (p) => {
      await bootstrap(p, "a", { workerItems: [activityItem("a", 2)] });
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      await p.ackWorkItem(lease!.lockToken, null);
      assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("worker ack after lock expiry fails even if nobody refetched", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      const lease = await p.fetchWorkItem(SHORT, NO_TAGS);
      await sleep(PAST);
      await assert.rejects(p.ackWorkItem(lease!.lockToken, completed("a", 1)), isPermanentProviderError());
      assert.equal(await p.fetchOrchestrationItem(LOCK), null, "no completion may leak from a failed ack");
    });

    test("renewal extends the lock; fails for bad tokens, after expiry and after ack", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      const lease = await p.fetchWorkItem(SHORT, NO_TAGS);
      assert.ok(lease);
      await p.renewWorkItemLock(lease.lockToken, SHORT * 4);
      await sleep(PAST);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null, "renewed lock must still hold");
      await p.renewWorkItemLock(lease.lockToken, LOCK);
      await assert.rejects(p.renewWorkItemLock("bogus", LOCK), isPermanentProviderError());
      await p.ackWorkItem(lease.lockToken, null);
      await assert.rejects(p.renewWorkItemLock(lease.lockToken, LOCK), isPermanentProviderError());

      await p.enqueueForWorker(activityItem("a", 2));
      const l2 = await p.fetchWorkItem(SHORT, NO_TAGS);
      await sleep(PAST);
      await assert.rejects(p.renewWorkItemLock(l2!.lockToken, LOCK), isPermanentProviderError());
    });

    test("abandon releases at once or after a delay; ignoreAttempt never goes below zero", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      await p.enqueueForWorker(activityItem("a", 2));
      const l1 = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(l1?.item.id, 1);
      await p.abandonWorkItem(l1!.lockToken);
      const l1b = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(l1b?.item.id, 1);
      assert.equal(l1b?.attemptCount, 2);
      await p.abandonWorkItem(l1b!.lockToken, SHORT);
      // the delayed item is skipped while a later one is available
      const l2 = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(l2?.item.id, 2);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      await sleep(PAST);
      const l1c = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(l1c?.item.id, 1);
      assert.equal(l1c?.attemptCount, 3);
      await p.abandonWorkItem(l1c!.lockToken, 0, true);
      assert.equal((await p.fetchWorkItem(LOCK, NO_TAGS))?.attemptCount, 3);

      await p.abandonWorkItem(l2!.lockToken, 0, true);
      for (let i = 0; i < 3; i++) {
        const l = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(l?.item.id, 2);
        assert.equal(l?.attemptCount, 1);
        await p.abandonWorkItem(l!.lockToken, 0, true);
      }
      await assert.rejects(p.abandonWorkItem("bogus"), isPermanentProviderError());
    });

    test("fetch never hands one item to two concurrent workers", async (p) => {
      for (let i = 1; i <= 10; i++) await p.enqueueForWorker(activityItem("a", i));
      const leases = await Promise.all(Array.from({ length: 15 }, () => p.fetchWorkItem(LOCK, NO_TAGS)));
      const ids = leases.filter((l) => l !== null).map((l) => l.item.id);
      assert.equal(ids.length, 10);
      assert.equal(new Set(ids).size, 10);
    });
  });
}
