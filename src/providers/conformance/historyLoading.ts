// Provider conformance: incremental history loads and unreadable rows.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ORCH_NAME, ORCH_VERSION, ack, bootstrap, event, external, fetchFor, started, startItem } from "./fixtures.js";
import { type SuiteContext } from "./harness.js";

export function registerHistoryLoading({ test, LOCK, factory }: SuiteContext): void {
  describe("history loading", () => {
    test("knownHistory skips reloading history the caller already holds", async (p) => {
      await bootstrap(p, "a", { historyDelta: [event("a", 1, 2, { type: "TimerCreated", fireAtMs: 1 })] });
      await p.enqueueForOrchestrator(external("a"));
      // Looked up by the locked instance: another instance's entry says nothing about it.
      const held = new Map([["a", { executionId: 1, lastEventId: 2 }], ["other", { executionId: 1, lastEventId: 1 }]]);
      let item = await p.fetchOrchestrationItem(LOCK, { knownHistory: held });
      assert.deepEqual(item?.history, []);
      assert.equal(item?.historyAfterEventId, 2);
      await p.abandonOrchestrationItem(item!.lockToken);

      for (const known of [{ executionId: 1, lastEventId: 1 }, { executionId: 2, lastEventId: 2 }, undefined]) {
        const knownHistory = new Map(known ? [["a", known]] : [["other", { executionId: 1, lastEventId: 2 }]]);
        item = await p.fetchOrchestrationItem(LOCK, { knownHistory });
        assert.equal(item?.history.length, 2, `stale knowledge ${JSON.stringify(known)} → full history`);
        assert.equal(item?.historyAfterEventId, 0);
        await p.abandonOrchestrationItem(item!.lockToken);
      }
    });

    test("continue-as-new: a new execution with its own history", async (p) => {
      await bootstrap(p, "a", {
        historyDelta: [event("a", 1, 2, { type: "OrchestrationContinuedAsNew", input: "2" })],
        metadata: { status: "ContinuedAsNew", output: "2" },
        orchestratorItems: [
          { type: "ContinueAsNew", instance: "a", orchestration: ORCH_NAME, input: "2", version: ORCH_VERSION, carryForwardEvents: [], initialCustomStatus: null, parent: null },
        ],
      });
      let item = await fetchFor(p, "a");
      assert.equal(item.executionId, 1);
      assert.equal(item.messages[0]?.type, "ContinueAsNew");
      await p.ackOrchestrationItem(item.lockToken, ack(2, { historyDelta: [started("a", 2, 1, "2")] }));
      const st = await p.getStatus("a");
      assert.equal(st?.executionId, 2);
      assert.equal(st?.status, "Running");
      assert.deepEqual((await p.read("a")).map((e) => [e.executionId, e.type]), [[2, "OrchestrationStarted"]]);
      assert.deepEqual((await p.readExecution("a", 1)).map((e) => e.type), ["OrchestrationStarted", "OrchestrationContinuedAsNew"]);
      await p.enqueueForOrchestrator(external("a"));
      item = await fetchFor(p, "a");
      assert.equal(item.executionId, 2);
      assert.equal(item.history.length, 1);
      if (p.admin) {
        assert.deepEqual(await p.admin.listExecutions("a"), [1, 2]);
        assert.equal((await p.admin.getExecutionInfo("a", 1)).status, "ContinuedAsNew");
        assert.equal((await p.admin.getExecutionInfo("a", 2)).status, "Running");
      }
    });

    if (factory.corruptHistory) {
      const corrupt = factory.corruptHistory.bind(factory);
      test("an unreadable history row yields historyError with the lock held", async (p) => {
        await bootstrap(p, "a");
        await corrupt(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.ok(item);
        assert.equal(item.instance, "a");
        assert.ok(item.historyError);
        assert.deepEqual(item.history, []);
        assert.equal(item.attemptCount, 1);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "lock is held");
        await p.abandonOrchestrationItem(item.lockToken);
        const again = await p.fetchOrchestrationItem(LOCK);
        assert.equal(again?.attemptCount, 2);
        assert.ok(again?.historyError);
        // appending on top of the damaged history still works
        await p.ackOrchestrationItem(again!.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "e", data: "1" })] }));
      });
    }

    if (factory.corruptQueueRow) {
      const corrupt = factory.corruptQueueRow.bind(factory);
      test("an unreadable queue message does not break fetching", async (p) => {
        await p.createInstance(startItem("bad"));
        await corrupt(p);
        await p.createInstance(startItem("good"));
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.equal(item?.instance, "good");
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        await p.ackOrchestrationItem(item!.lockToken, ack(1, { historyDelta: [started("good")] }));
        assert.equal((await p.getStatus("good"))?.status, "Running");
      });

      test("an unreadable message of an existing instance is reported with the item and kept as a dead letter", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a", "first"));
        await p.enqueueForOrchestrator(external("a", "second"));
        await corrupt(p);
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.ok(item);
        assert.equal(item.instance, "a");
        assert.deepEqual(item.messages, [external("a", "first")], "the readable message is delivered");
        assert.equal(item.deadLettered?.length, 1);
        const dl = item.deadLettered![0]!;
        assert.equal(dl.kind, "ExternalRaised");
        assert.ok(dl.error.length > 0);
        assert.ok(Number.isInteger(dl.messageId) && dl.messageId > 0);
        const stored = await p.admin?.deadLetters?.listDeadLetters();
        if (stored) {
          const row = stored.find((d) => d.id === dl.deadLetterId);
          assert.ok(row, "the reported dead letter id is the stored one");
          assert.equal(row.instanceId, "a");
        }
        // Until a turn is acked (a process may die between fetch and ack), every fetch reports it
        // again, the same dead letter (not a second copy).
        await p.abandonOrchestrationItem(item.lockToken);
        const again = await p.fetchOrchestrationItem(LOCK);
        assert.ok(again);
        assert.deepEqual(again.deadLettered, item.deadLettered);
        assert.deepEqual(again.messages, [external("a", "first")]);
        await p.ackOrchestrationItem(again.lockToken, ack(1));
        // Acked: no longer reported, still kept.
        await p.enqueueForOrchestrator(external("a", "third"));
        const next = await p.fetchOrchestrationItem(LOCK);
        assert.equal(next?.deadLettered?.length ?? 0, 0);
        await p.abandonOrchestrationItem(next!.lockToken);
        if (stored) assert.equal((await p.admin!.deadLetters!.listDeadLetters()).length, stored.length);
      });

      test("an instance whose only message is unreadable is still fetched, with no messages", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        await corrupt(p);
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.ok(item);
        assert.equal(item.instance, "a");
        assert.deepEqual(item.messages, []);
        assert.equal(item.deadLettered?.length, 1);
        assert.equal(item.attemptCount >= 1, true);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "the instance is locked");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: [event("a", 1, 2, { type: "OrchestrationFailed", details: { category: "poison", attemptCount: 1, maxAttempts: 1, messageType: { kind: "DeadLettered", instance: "a", executionId: 1, deadLetters: item.deadLettered! }, message: "[]" } })], metadata: { status: "Failed" } }),
        );
        assert.equal((await p.getStatus("a"))?.status, "Failed");
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("an unreadable message of an instance that does not exist returns no item", async (p) => {
        await p.enqueueForOrchestrator(external("ghost"));
        await corrupt(p);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });
    }
  });
}
