// Provider conformance: the in-process wake-up notifications.
import { describe } from "node:test";
import assert from "node:assert/strict";

import type { ProviderNotification } from "../provider.js";
import { ack, activityItem, completed, external, fetchFor, started, startItem, timerFired } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";

export function registerNotifications({ test, LOCK }: SuiteContext): void {
  describe("notifications", () => {
    test("writes notify subscribers; unsubscribe stops them; listener errors are contained", async (p) => {
      const seen: ProviderNotification[] = [];
      p.subscribe(() => {
        throw new Error("listener failure");
      });
      const off = p.subscribe((n) => seen.push(n));
      await p.createInstance(startItem("a"));
      assert.equal(seen.filter((n) => n.kind === "orchestrator").length, 1);
      await p.enqueueForWorker(activityItem("x", 1));
      assert.ok(seen.some((n) => n.kind === "worker"));

      seen.length = 0;
      const item = await fetchFor(p, "a");
      const fireAt = Date.now() + 60_000;
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, {
          historyDelta: [started("a")],
          workerItems: [activityItem("a", 2)],
          orchestratorItems: [timerFired("a", 3, fireAt)],
          cancelledActivities: [{ instance: "x", executionId: 1, activityId: 1 }],
        }),
      );
      assert.ok(seen.some((n) => n.kind === "worker"));
      assert.ok(seen.some((n) => n.kind === "orchestrator" && n.visibleAtMs === fireAt));
      assert.ok(seen.some((n) => n.kind === "instanceChanged" && n.instance === "a"));
      const cancelled = seen.find((n) => n.kind === "activitiesCancelled");
      assert.deepEqual(cancelled, { kind: "activitiesCancelled", activities: [{ instance: "x", executionId: 1, activityId: 1 }] });

      seen.length = 0;
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      await p.ackWorkItem(lease!.lockToken, completed("a", 2));
      assert.ok(seen.some((n) => n.kind === "orchestrator"));

      off();
      seen.length = 0;
      await p.enqueueForOrchestrator(external("a"));
      assert.deepEqual(seen, []);
    });

    test("a failed write emits nothing", async (p) => {
      const seen: ProviderNotification[] = [];
      p.subscribe((n) => seen.push(n));
      await assert.rejects(p.ackOrchestrationItem("bogus", ack(1, { workerItems: [activityItem("a", 1)] })));
      await assert.rejects(p.enqueueForOrchestrator(external("none"), { requireInstance: true }));
      assert.deepEqual(seen, []);
    });
  });
}
