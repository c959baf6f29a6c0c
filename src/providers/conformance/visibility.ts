// Provider conformance: delayed messages, and messages for instances that do not exist.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, bootstrap, completed, event, external, fetchFor, sleep, started, startItem, timerFired } from "./fixtures.js";
import { type SuiteContext } from "./harness.js";

export function registerVisibility({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  describe("visibility and orphans", () => {
    test("a TimerFired from an ack becomes visible at its fire time", async (p) => {
      const fireAt = Date.now() + SHORT;
      await bootstrap(p, "a", {
        historyDelta: [event("a", 1, 2, { type: "TimerCreated", fireAtMs: fireAt })],
        orchestratorItems: [timerFired("a", 2, fireAt)],
      });
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      if (p.admin) assert.equal((await p.admin.getQueueDepths()).orchestratorQueue, 0);
      await sleep(PAST);
      const item = await p.fetchOrchestrationItem(LOCK);
      assert.equal(item?.messages[0]?.type, "TimerFired");
    });

    test("future messages are not part of a batch and are not deleted by its ack", async (p) => {
      const fireAt = Date.now() + SHORT;
      await bootstrap(p, "a", { orchestratorItems: [timerFired("a", 2, fireAt), external("a")] });
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.messages.map((m) => m.type), ["ExternalRaised"]);
      await p.ackOrchestrationItem(item.lockToken, ack(1));
      await sleep(PAST);
      const timer = await fetchFor(p, "a");
      assert.deepEqual(timer.messages.map((m) => m.type), ["TimerFired"]);
    });

    test("enqueue with delayMs hides the message until the delay passes", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"), { delayMs: SHORT });
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await sleep(PAST);
      assert.equal((await p.fetchOrchestrationItem(LOCK))?.instance, "a");
    });

    test("orphan messages are dropped and never block other instances", async (p) => {
      await p.enqueueForOrchestrator(external("ghost"));
      await p.enqueueForOrchestrator(completed("ghost", 3));
      await p.enqueueForOrchestrator({ type: "CancelInstance", instance: "ghost2", reason: "x" });
      await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "ghost3", name: "q", data: "1" });
      await p.createInstance(startItem("real"));
      const item = await p.fetchOrchestrationItem(LOCK);
      assert.equal(item?.instance, "real");
      await p.ackOrchestrationItem(item!.lockToken, ack(1, { historyDelta: [started("real")] }));
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      if (p.admin) {
        const d = await p.admin.getQueueDepths();
        assert.equal(d.orchestratorQueue, 0);
      }
      assert.equal(await p.getStatus("ghost"), null);
    });

    test("messages for an existing instance are kept and returned", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "a", name: "q", data: "1" });
      const item = await fetchFor(p, "a");
      assert.equal(item.messages[0]?.type, "QueueMessage");
    });

    test("messages queued before the start is fetched join the start's batch", async (p) => {
      await p.createInstance(startItem("a"));
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.messages.map((m) => m.type), ["StartOrchestration", "ExternalRaised"]);
    });
  });
}
