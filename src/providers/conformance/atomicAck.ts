// Provider conformance: the orchestration ack writes everything of a turn in one transaction.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, activityItem, bootstrap, event, external, fetchFor, started, startItem } from "./fixtures.js";
import { NO_TAGS, ANY, isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerAtomicAck({ test, LOCK }: SuiteContext): void {
  describe("atomic ack", () => {
    test("ack commits history, worker items, orchestrator items and metadata together", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [started("a"), event("a", 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" })],
          workerItems: [activityItem("a", 2)],
          orchestratorItems: [external("other")],
          metadata: { status: "Running" },
        }),
      );
      assert.equal((await p.read("a")).length, 2);
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(lease);
      assert.deepEqual(lease.item, activityItem("a", 2));
      // the orchestrator item for "other" went to the queue (and is dropped as an orphan on fetch)
      if (p.admin) {
        const d = await p.admin.getQueueDepths();
        assert.equal(d.orchestratorQueue, 1);
      }
      assert.equal((await p.getStatus("a"))?.status, "Running");
    });

    test("duplicate event id fails permanently and rolls back everything", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      const before = await p.read("a");
      await assert.rejects(
        p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [
              event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" }),
              event("a", 1, 1, { type: "ExternalEvent", name: "dup", data: "1" }),
              event("a", 1, 3, { type: "CustomStatusUpdated", status: "x" }),
            ],
            workerItems: [activityItem("a", 9)],
            orchestratorItems: [external("a", "loop")],
            metadata: { status: "Completed", output: "done" },
          }),
        ),
        isPermanentProviderError(),
      );
      assert.deepEqual(await p.read("a"), before);
      const st = await p.getStatus("a");
      assert.equal(st?.status, "Running");
      assert.equal(st?.customStatus, null);
      assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
      // lock still held: the instance cannot be fetched by anyone else
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      // and the same token can still ack successfully; the message was not consumed by the failure
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] }),
      );
      assert.equal((await p.read("a")).length, 2);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("duplicate event ids inside one delta are rejected", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      await assert.rejects(
        p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [started("a"), started("a")] })),
        isPermanentProviderError(),
      );
      assert.equal(await p.getStatus("a"), null);
    });

    test("an empty delta is a valid ack", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(item.lockToken, ack(1));
      assert.equal((await p.read("a")).length, 1);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("ack records terminal status, output and failure", async (p) => {
      await bootstrap(p, "ok");
      await p.enqueueForOrchestrator(external("ok"));
      let item = await fetchFor(p, "ok");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [event("ok", 1, 2, { type: "OrchestrationCompleted", output: '"r"' })],
          metadata: { status: "Completed", output: '"r"' },
        }),
      );
      const st = await p.getStatus("ok");
      assert.equal(st?.status, "Completed");
      assert.equal(st?.output, '"r"');
      assert.equal(st?.failure, null);

      await bootstrap(p, "bad");
      await p.enqueueForOrchestrator(external("bad"));
      item = await fetchFor(p, "bad");
      const failure = { category: "application", kind: "OrchestrationFailed", message: "boom", retryable: false } as const;
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [event("bad", 1, 2, { type: "OrchestrationFailed", details: failure })],
          metadata: { status: "Failed", failure },
        }),
      );
      const fst = await p.getStatus("bad");
      assert.equal(fst?.status, "Failed");
      assert.deepEqual(fst?.failure, failure);
      assert.equal(fst?.output, null);
    });

    test("sub-orchestration completions are routed to the parent instance", async (p) => {
      await bootstrap(p, "parent", { orchestratorItems: [startItem("child", { parent: "parent" })] });
      const c = await fetchFor(p, "child");
      await p.ackOrchestrationItem(
        c.lockToken,
        ack(1, {
          historyDelta: [started("child", 1, 1, "{}", "parent"), event("child", 1, 2, { type: "OrchestrationCompleted", output: "7" })],
          metadata: { status: "Completed", output: "7", parentInstanceId: "parent" },
          orchestratorItems: [{ type: "SubOrchCompleted", parentInstance: "parent", parentExecutionId: 1, parentId: 2, result: "7" }],
        }),
      );
      const item = await fetchFor(p, "parent");
      assert.equal(item.messages.length, 1);
      assert.equal(item.messages[0]!.type, "SubOrchCompleted");
      assert.equal((await p.getStatus("child"))?.parentInstanceId, "parent");
      if (p.admin) assert.deepEqual(await p.admin.listChildren("parent"), ["child"]);
    });
  });
}
