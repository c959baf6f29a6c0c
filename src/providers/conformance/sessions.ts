// Provider conformance: session affinity: one worker owns a session's activities.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { activityItem, sleep } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";

export function registerSessions({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  describe("sessions", () => {
    const sess = (ownerId: string, lockTimeoutMs = LOCK) => ({ tagFilter: { kind: "defaultOnly" as const }, session: { ownerId, lockTimeoutMs } });

    test("without a session config only non-session items are returned", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2));
      assert.equal((await p.fetchWorkItem(LOCK, NO_TAGS))?.item.id, 2);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      const l = await p.fetchWorkItem(LOCK, sess("w1"));
      assert.equal(l?.item.id, 1);
      assert.equal(l?.item.sessionId, "s1");
    });

    test("a claimed session is pinned to its owner", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 3, { sessionId: "s2" }));
      await p.enqueueForWorker(activityItem("a", 4));
      assert.equal((await p.fetchWorkItem(LOCK, sess("w1")))?.item.id, 1);
      // w2 cannot take s1's second item, but gets s2 and the plain item
      assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 3);
      assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 4);
      assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
      assert.equal((await p.fetchWorkItem(LOCK, sess("w1")))?.item.id, 2, "owner keeps getting its session's items");
    });

    test("an expired session can be claimed by another worker", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      const l1 = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      await p.ackWorkItem(l1!.lockToken, null);
      assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
      await sleep(PAST);
      assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 2);
    });

    test("concurrent claims of one session: only one owner wins", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      const leases = await Promise.all(["w1", "w2", "w3", "w4"].map((w) => p.fetchWorkItem(LOCK, sess(w))));
      const got = leases.filter((l) => l !== null);
      assert.equal(got.length, 1);
    });

    test("renewSessionLocks renews active sessions only", async (p) => {
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, LOCK), 0);
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      const l = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      assert.ok(l);
      assert.equal(await p.renewSessionLocks(["w1"], SHORT * 4, LOCK), 1);
      assert.equal(await p.renewSessionLocks(["other"], LOCK, LOCK), 0);
      await sleep(PAST);
      // the renewed session outlives its original timeout
      assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
      // idle (no activity within the idle timeout) sessions are not renewed
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, 50), 0);
    });

    test("renewSessionLocks returns 0 once the session expired", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      await sleep(PAST);
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, LOCK), 0);
    });

    test("worker ack and renew count as session activity", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      const l1 = await p.fetchWorkItem(LOCK, sess("w1"));
      const l2 = await p.fetchWorkItem(LOCK, sess("w1"));
      await sleep(120);
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 0, "idle for 120ms > 100ms");
      await p.ackWorkItem(l1!.lockToken, null);
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 1, "ack bumped last activity");
      await sleep(120);
      await p.renewWorkItemLock(l2!.lockToken, LOCK);
      assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 1, "renew bumped last activity");
    });

    test("cleanupOrphanedSessions removes only expired sessions without pending items", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "done" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "pending" }));
      await p.enqueueForWorker(activityItem("a", 3, { sessionId: "pending" }));
      await p.enqueueForWorker(activityItem("a", 4, { sessionId: "active" }));
      const d = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      assert.equal(d?.item.id, 1);
      await p.ackWorkItem(d!.lockToken, null);
      const pend = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      assert.equal(pend?.item.id, 2);
      await p.ackWorkItem(pend!.lockToken, null);
      const act = await p.fetchWorkItem(LOCK, sess("w2", LOCK));
      assert.equal(act?.item.id, 4);
      await p.ackWorkItem(act!.lockToken, null);
      await sleep(PAST);
      assert.equal(await p.cleanupOrphanedSessions(LOCK), 1);
      assert.equal(await p.cleanupOrphanedSessions(LOCK), 0);
      // the expired session with an item left is claimable by anyone, and is re-created afterwards
      assert.equal((await p.fetchWorkItem(LOCK, sess("w3")))?.item.id, 3);
      await p.enqueueForWorker(activityItem("a", 5, { sessionId: "done" }));
      assert.equal((await p.fetchWorkItem(LOCK, sess("w4")))?.item.id, 5);
    });

    test("an abandoned session item is retried by its owner", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      const l = await p.fetchWorkItem(LOCK, sess("w1"));
      await p.abandonWorkItem(l!.lockToken, 0, true);
      assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
      const again = await p.fetchWorkItem(LOCK, sess("w1"));
      assert.equal(again?.item.id, 1);
      assert.equal(again?.attemptCount, 1);
    });

    test("session ownership does not gate the activity ack", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      const l = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
      await sleep(PAST);
      await p.ackWorkItem(l!.lockToken, null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), false);
    });
  });
}
