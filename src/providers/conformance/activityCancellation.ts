// Provider conformance: withdrawing scheduled activities and fencing their late results.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, activityItem, bootstrap, completed, external, fetchFor } from "./fixtures.js";
import { NO_TAGS, ANY, isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerActivityCancellation({ test, LOCK }: SuiteContext): void {
  describe("activity cancellation", () => {
    test("cancelled activities are withdrawn; late renew and ack fail", async (p) => {
      await bootstrap(p, "a", { workerItems: [activityItem("a", 2), activityItem("a", 3), activityItem("a", 4)] });
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(lease?.item.id, 2);
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          cancelledActivities: [
            { instance: "a", executionId: 1, activityId: 2 },
            { instance: "a", executionId: 1, activityId: 3 },
            { instance: "a", executionId: 1, activityId: 99 },
            { instance: "zzz", executionId: 1, activityId: 1 },
          ],
        }),
      );
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 3 }), false);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), true);
      await assert.rejects(p.renewWorkItemLock(lease!.lockToken, LOCK), isPermanentProviderError());
      await assert.rejects(p.ackWorkItem(lease!.lockToken, completed("a", 2)), isPermanentProviderError());
      assert.equal(await p.fetchOrchestrationItem(LOCK), null, "the late completion must be dropped");
      const rest = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(rest?.item.id, 4);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("scheduling and cancelling the same activity in one ack nets to nothing", async (p) => {
      await bootstrap(p, "a", {
        workerItems: [activityItem("a", 2)],
        cancelledActivities: [{ instance: "a", executionId: 1, activityId: 2 }],
      });
      assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
    });

    test("cancelling unknown activities is a no-op", async (p) => {
      await bootstrap(p, "a", { cancelledActivities: [{ instance: "a", executionId: 1, activityId: 5 }] });
      assert.equal((await p.read("a")).length, 1);
    });

    test("activity identity distinguishes executions", async (p) => {
      await p.enqueueForWorker(activityItem("a", 2, { executionId: 1 }));
      await p.enqueueForWorker(activityItem("a", 2, { executionId: 2 }));
      await bootstrap(p, "a", { cancelledActivities: [{ instance: "a", executionId: 1, activityId: 2 }] });
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 2, activityId: 2 }), true);
    });
  });
}
