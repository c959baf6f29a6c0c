// Provider conformance: a worker ack that locks the completion's instance for the acking process
// (`WorkAckOptions.lockInstance`). Optional for a provider: one that returns no item must leave the
// completion fetchable. With `workAckLocks: true` the provider promises to lock a free instance.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, activityItem, bootstrap, completed, external, fetchFor, sleep } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";
import type { OrchestrationItem, Provider, WorkAckOptions } from "../provider.js";

/** Bootstraps `instance` with activity 2 queued and leases it; returns the worker lock token. */
async function activityLeased(p: Provider, instance: string, lockMs: number): Promise<string> {
  await bootstrap(p, instance, { workerItems: [activityItem(instance, 2)] });
  const lease = await p.fetchWorkItem(lockMs, NO_TAGS);
  assert.equal(lease?.item.id, 2);
  return lease!.lockToken;
}

/** The worker ack asking for the instance; null when the provider did not lock it. */
async function ackAndLock(p: Provider, token: string, instance: string, options: NonNullable<WorkAckOptions["lockInstance"]>): Promise<OrchestrationItem | null> {
  const r = await p.ackWorkItem(token, completed(instance, 2), { lockInstance: options });
  return r?.item ?? null;
}

export function registerWorkAckLocks({ test, LOCK, SHORT, PAST }: SuiteContext, exact: boolean): void {
  describe("worker acks that lock the completion's instance (turn handed to the acking process)", () => {
    test("a free instance is locked in the ack and returned as a fetch returns it", async (p) => {
      const token = await activityLeased(p, "a", LOCK);
      const item = await ackAndLock(p, token, "a", { lockTimeoutMs: LOCK });
      if (item === null) {
        assert.equal(exact, false, "the provider promised to lock the instance");
        assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 2)]);
        return;
      }
      assert.equal(item.instance, "a");
      assert.equal(item.executionId, 1);
      assert.deepEqual(item.messages, [completed("a", 2)]);
      assert.deepEqual(item.history.map((e) => e.type), ["OrchestrationStarted"]);
      assert.equal(item.historyAfterEventId, 0);
      assert.equal(item.attemptCount, 1);
      assert.equal(item.orchestrationName, "TestOrch");
      // Locked: nobody fetches it; the item is acked like a fetched one.
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await p.ackOrchestrationItem(item.lockToken, ack(1));
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
    });

    test("the history the caller holds is not sent again", async (p) => {
      const token = await activityLeased(p, "a", LOCK);
      const knownHistory = new Map([["a", { executionId: 1, lastEventId: 1 }]]);
      const item = await ackAndLock(p, token, "a", { lockTimeoutMs: LOCK, knownHistory });
      if (item === null) return assert.equal(exact, false, "the provider promised to lock the instance");
      assert.equal(item.historyAfterEventId, 1);
      assert.deepEqual(item.history, []);
      assert.deepEqual(item.messages, [completed("a", 2)]);
    });

    test("an instance another turn holds is not taken; the completion waits for that turn's ack", async (p) => {
      const token = await activityLeased(p, "a", LOCK);
      await p.enqueueForOrchestrator(external("a"));
      const held = await fetchFor(p, "a");
      assert.deepEqual(held.messages, [external("a")]);
      assert.equal(await ackAndLock(p, token, "a", { lockTimeoutMs: LOCK }), null);
      // The completion is committed all the same, and fetched once the holder acks.
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      await p.ackOrchestrationItem(held.lockToken, ack(1));
      assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 2)]);
    });

    test("a handed-over instance whose holder is lost is fetched again after its lock expires", async (p) => {
      const token = await activityLeased(p, "a", LOCK);
      const item = await ackAndLock(p, token, "a", { lockTimeoutMs: SHORT });
      if (item === null) return assert.equal(exact, false, "the provider promised to lock the instance");
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await sleep(PAST);
      const again = await fetchFor(p, "a");
      assert.deepEqual(again.messages, [completed("a", 2)]);
      assert.equal(again.attemptCount, 2);
      // The lost holder's token is dead.
      await assert.rejects(p.ackOrchestrationItem(item.lockToken, ack(1)));
    });
  });
}
