// A finished instance leaves nothing queued behind it: the ack that ends an execution (completed,
// failed, cancelled) drops the instance's pending timers, and nothing afterwards (a timer that
// would have fired, an event raised to it) moves its updatedAt.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";
import { sleep, until } from "./multi.js";

const TIMER_MS = 1_200;

for (const kind of PROVIDERS) {
  describe(`[${kind}] finished instances leave no queued timers`, () => {
    it("completed (race won by an activity), failed and cancelled: timer queue empty, updatedAt unchanged after the timer's due time", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Quick", async () => "quick");
          rt.registerOrchestration("RaceWon", async (ctx: OrchestrationContext) => {
            const r = await ctx.select2(ctx.scheduleTimer(TIMER_MS), ctx.scheduleActivity("Quick"));
            return r.index;
          });
          rt.registerOrchestration("FailsWithTimer", async (ctx: OrchestrationContext) => {
            void ctx.scheduleTimer(TIMER_MS);
            await ctx.scheduleActivity("Quick");
            throw new Error("failing on purpose");
          });
          rt.registerOrchestration("CancelledWithTimer", async (ctx: OrchestrationContext) => {
            await ctx.scheduleTimer(TIMER_MS);
            return "timer fired";
          });
        },
        {},
        kind,
      );
      try {
        const started = Date.now();
        await h.client.startOrchestration("won", "RaceWon");
        await h.client.startOrchestration("failed", "FailsWithTimer");
        await h.client.startOrchestration("cancelled", "CancelledWithTimer");
        await until(async () => (await h.client.readHistory("cancelled")).some((e) => e.type === "TimerCreated"), 5_000);
        await h.client.cancelInstance("cancelled", "stop");

        assert.equal((await h.client.waitForOrchestration("won", 5_000)).output, 1, "the activity won the race");
        assert.equal((await h.client.waitForOrchestration("failed", 5_000)).status, "Failed");
        assert.equal((await h.client.waitForOrchestration("cancelled", 5_000)).status, "Failed");
        assert.ok(Date.now() - started < TIMER_MS, "all three finished before their timers were due (test timing)");

        assert.deepEqual(await h.client.getQueueDepths(), { orchestratorQueue: 0, workerQueue: 0, timerQueue: 0 });
        const ids = ["won", "failed", "cancelled"];
        const before = await Promise.all(ids.map(async (id) => (await h.client.getInstanceInfo(id)).updatedAt));

        // Past the timers' due time (with room for a fetch loop to pick one up), and an event raised
        // to a finished instance is consumed without touching it.
        await h.client.raiseEvent("won", "late", 1);
        await until(async () => (await h.client.getQueueDepths()).orchestratorQueue === 0, 5_000);
        await sleep(Math.max(0, started + TIMER_MS + 600 - Date.now()));

        assert.deepEqual(await h.client.getQueueDepths(), { orchestratorQueue: 0, workerQueue: 0, timerQueue: 0 });
        const afterwards = await Promise.all(ids.map(async (id) => (await h.client.getInstanceInfo(id)).updatedAt));
        assert.deepEqual(afterwards, before, "updatedAt of the finished instances did not move");
        for (const id of ids) {
          const hist = await h.client.readHistory(id);
          assert.equal(hist.filter((e) => e.type === "TimerFired").length, 0, `${id}: no timer fired into the finished instance`);
        }
      } finally {
        await h.close();
      }
    });
  });
}
