// Provider conformance: the basic admin queries (lists, info, metrics, queue depths).
import { describe } from "node:test";
import assert from "node:assert/strict";

import { InstanceNotFoundError } from "../../model/errors.js";
import { ORCH_NAME, ack, activityItem, bootstrap, event, external, fetchFor, sleep, started, startItem } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";

export function registerAdminQueries({ test, LOCK }: SuiteContext): void {
  describe("management", () => {
    test("admin queries report instances, executions, metrics and queue depths", async (p) => {
      const admin = p.admin;
      if (!admin) return;
      await bootstrap(p, "first");
      await sleep(5);
      await bootstrap(p, "second", { orchestratorItems: [startItem("kid", { parent: "second" })] });
      const kid = await fetchFor(p, "kid");
      await p.ackOrchestrationItem(
        kid.lockToken,
        ack(1, {
          historyDelta: [started("kid", 1, 1, "{}", "second"), event("kid", 1, 2, { type: "OrchestrationCompleted", output: "5" })],
          metadata: { status: "Completed", output: "5", parentInstanceId: "second" },
        }),
      );
      const list = await admin.listInstances();
      assert.equal(list.length, 3);
      assert.equal(list[list.length - 1], "first", "newest first");
      assert.deepEqual(await admin.listInstancesByStatus("Completed"), ["kid"]);
      assert.deepEqual((await admin.listInstancesByStatus("Running")).sort(), ["first", "second"]);
      assert.deepEqual(await admin.listExecutions("kid"), [1]);
      assert.deepEqual(await admin.listExecutions("unknown"), []);
      assert.deepEqual(await admin.listChildren("second"), ["kid"]);
      const info = await admin.getInstanceInfo("kid");
      assert.equal(info.instanceId, "kid");
      assert.equal(info.orchestrationName, ORCH_NAME);
      assert.equal(info.status, "Completed");
      assert.equal(info.output, "5");
      assert.equal(info.parentInstanceId, "second");
      assert.equal(info.currentExecutionId, 1);
      await assert.rejects(admin.getInstanceInfo("unknown"), InstanceNotFoundError);
      const ex = await admin.getExecutionInfo("kid", 1);
      assert.equal(ex.eventCount, 2);
      assert.equal(ex.status, "Completed");
      assert.ok(ex.completedAt !== null);
      await assert.rejects(admin.getExecutionInfo("kid", 9));
      assert.deepEqual((await admin.readHistory("kid", 1)).map((e) => e.eventId), [1, 2]);
      const m = await admin.getSystemMetrics();
      assert.deepEqual(m, {
        totalInstances: 3,
        totalExecutions: 3,
        runningInstances: 2,
        completedInstances: 1,
        failedInstances: 0,
        totalEvents: 4,
      });

      await p.enqueueForOrchestrator(external("first"));
      await p.enqueueForOrchestrator(external("second"), { delayMs: 60_000 });
      await p.enqueueForWorker(activityItem("first", 7));
      await p.enqueueForWorker(activityItem("first", 8));
      assert.deepEqual(await admin.getQueueDepths(), { orchestratorQueue: 1, workerQueue: 2, timerQueue: 1 });
      await p.fetchWorkItem(LOCK, NO_TAGS);
      await p.fetchOrchestrationItem(LOCK);
      assert.deepEqual(await admin.getQueueDepths(), { orchestratorQueue: 0, workerQueue: 1, timerQueue: 1 });
    });
  });
}
