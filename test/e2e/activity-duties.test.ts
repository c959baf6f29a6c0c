// A running activity's periodic duties (lock renewal, the withdrawal poll, the slow report) are
// armed lazily, by one timer at the first one's time, and its cancellation signal is made only
// when asked for. These check the duties still happen on time for an activity that outlives the
// first of them, and that a signal asked for after the cancellation reads as aborted.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ActivityContext, OrchestrationContext } from "../../src/index.js";
import { SharedStore, sleep, until } from "./multi.js";

describe("activity duties armed lazily", () => {
  it("a withdrawal made by another runtime (no in-process notice) reaches the activity by the poll; its signal, first read afterwards, is aborted", async () => {
    const store = new SharedStore("sqlite");
    try {
      let started = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let seen: { aborted: boolean; cancelled: boolean; reason: unknown } | null = null;
      let runs = 0;
      // Worker-only: it hears of the withdrawal only through its poll (SQLite provider objects
      // share no notifications).
      const worker = await store.node(
        (rt) => {
          rt.registerActivity("Hold", async (ctx: ActivityContext) => {
            runs++;
            started = Date.now();
            await gate; // touches neither ctx.signal nor ctx.isCancelled() until released
            seen = { aborted: ctx.signal.aborted, cancelled: ctx.isCancelled(), reason: ctx.signal.reason };
            return "late";
          });
        },
        // Lock 600 ms: renewals (every 200 ms) must be armed too, or the lock lapses while it runs.
        { orchestrationConcurrency: 0, activityCancellationPollMs: 100, workerLockTimeoutMs: 600 },
      );
      const orchestrator = await store.node(
        (rt) => {
          rt.registerOrchestration("Leaves", async (ctx: OrchestrationContext) => {
            void ctx.scheduleActivity("Hold", null); // left outstanding: withdrawn when the instance ends
            await ctx.waitForEvent("end");
            return "done";
          });
        },
        { workerConcurrency: 0 },
      );
      const client = await store.client();
      await client.startOrchestration("w1", "Leaves", null);
      await until(() => started > 0, 5_000, "activity start");
      // Past the lock timeout: only a renewal keeps the row ours meanwhile.
      await sleep(700);
      await client.raiseEvent("w1", "end");
      const r = await client.waitForOrchestration("w1", 5_000);
      assert.equal(r.status, "Completed");
      // The poll (every 100 ms) finds the row withdrawn meanwhile.
      await sleep(600);
      release();
      await until(() => seen !== null, 2_000, "activity ended");
      assert.deepEqual({ aborted: seen!.aborted, cancelled: seen!.cancelled }, { aborted: true, cancelled: true });
      assert.ok(seen!.reason instanceof Error && seen!.reason.name === "AbortError", "the abort reason is the default AbortError");
      assert.equal(runs, 1, "the activity ran once: its lock was renewed while it ran");
      const hist = await client.readHistory("w1", 1);
      assert.ok(!hist.some((e) => e.type === "ActivityCompleted"), "the withdrawn activity's result was not recorded");
      await orchestrator.stop();
      await worker.stop();
    } finally {
      await store.close();
    }
  });
});
