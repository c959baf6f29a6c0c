import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SubOrchestrationFailedError, type ActivityContext, type OrchestrationContext, type Runtime } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";
import { sleep, until } from "./multi.js";

for (const kind of PROVIDERS) {

/** A cooperative long activity: records when it started and when its signal fired. */
function tracker() {
  const started = new Map<string, number>();
  const aborted = new Map<string, number>();
  const register = (rt: Runtime, name = "Long") =>
    rt.registerActivity(name, async (ctx: ActivityContext, tag: string) => {
      started.set(tag, Date.now());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10_000);
        ctx.signal.addEventListener("abort", () => {
          aborted.set(tag, Date.now());
          clearTimeout(t);
          resolve();
        });
      });
      return ctx.isCancelled() ? "cancelled" : "finished";
    });
  return { started, aborted, register };
}

describe(`[${kind}] cooperative activity cancellation`, () => {
  it("signalled well under a second when the orchestration completes, fails, continues as new, or is cancelled", async () => {
    const t = tracker();
    const h = await harness((rt) => {
      t.register(rt);
      rt.registerOrchestration("Ends", async (ctx: OrchestrationContext, how: string) => {
        if (ctx.executionId > 1) return "second execution";
        void ctx.scheduleActivity("Long", how); // left outstanding
        await ctx.waitForEvent("end");
        if (how === "fail") throw new Error("failing on purpose");
        if (how === "can") return ctx.continueAsNew(how);
        return "done";
      });
    }, {}, kind);
    try {
      for (const how of ["complete", "fail", "can", "cancel"]) {
        await h.client.startOrchestration(`i-${how}`, "Ends", how);
        await until(() => t.started.has(how), 5_000, `${how} activity start`);
        const t0 = Date.now();
        if (how === "cancel") await h.client.cancelInstance(`i-${how}`, "operator");
        else await h.client.raiseEvent(`i-${how}`, "end");
        await until(() => t.aborted.has(how), 2_000, `${how} activity abort`);
        const latency = t.aborted.get(how)! - t0;
        assert.ok(latency < 1_000, `${how}: detected in ${latency} ms`);
        const r = await h.client.waitForOrchestration(`i-${how}`, 5_000);
        if (how === "cancel") assert.equal(r.error, "canceled: operator");
        if (how === "fail") assert.equal(r.error, "failing on purpose");
        const hist = await h.client.readHistory(`i-${how}`, 1);
        assert.ok(hist.some((e) => e.type === "ActivityCancelRequested"), `${how}: cancellation recorded`);
        assert.ok(!hist.some((e) => e.type === "ActivityCompleted"), `${how}: no result recorded`);
      }
    } finally {
      await h.close();
    }
  });

  it("race loser: signalled at once; a loser ignoring the signal has its result dropped after the grace period", async () => {
    const t = tracker();
    let stubbornDone = 0;
    const h = await harness(
      (rt) => {
        t.register(rt);
        rt.registerActivity("Stubborn", async () => {
          await sleep(400); // ignores cancellation
          stubbornDone = Date.now();
          return "late result";
        });
        rt.registerOrchestration("Racer", async (ctx: OrchestrationContext) => {
          const a = await ctx.race(ctx.scheduleActivity("Long", "loser"), ctx.scheduleTimer(100));
          const b = await ctx.race(ctx.scheduleActivity("Stubborn"), ctx.scheduleTimer(20));
          await ctx.waitForEvent("end");
          return [a.index, b.index];
        });
      },
      { activityCancellationGracePeriodMs: 100 }, kind
    );
    try {
      await h.client.startOrchestration("race", "Racer");
      await until(() => t.aborted.has("loser"), 3_000, "loser abort");
      // Measured from the timer's due time, not from the activity's start: under load the worker
      // may pick the activity up well after the orchestration scheduled both (and the timer).
      const fireAt = (await h.client.readHistory("race")).find((e) => e.type === "TimerCreated");
      assert.ok(fireAt !== undefined && fireAt.type === "TimerCreated");
      const latency = t.aborted.get("loser")! - fireAt.fireAtMs;
      assert.ok(latency >= -20 && latency < 1_000, `loser signalled ${latency} ms after the timer that beat it was due`);
      await until(() => stubbornDone > 0, 3_000, "stubborn activity to return");
      await sleep(150);
      await h.client.raiseEvent("race", "end");
      const r = await h.client.waitForOrchestration("race", 5_000);
      assert.deepEqual(r.output, [1, 1]);
      const hist = await h.client.readHistory("race");
      assert.equal(hist.filter((e) => e.type === "ActivityCompleted").length, 0, "neither loser's result reached history");
      assert.equal(hist.filter((e) => e.type === "ActivityCancelRequested").length, 2);
      assert.equal((await h.client.getQueueDepths()).workerQueue, 0);
    } finally {
      await h.close();
    }
  });

  it("cascading cancel: parent → child → grandchild, each with a running activity", async () => {
    const t = tracker();
    const h = await harness((rt) => {
      t.register(rt);
      rt.registerOrchestration("Level", async (ctx: OrchestrationContext, depth: number) => {
        const act = ctx.scheduleActivity("Long", `depth-${depth}`);
        if (depth < 2) await ctx.join([act, ctx.scheduleSubOrchestrationWithId("Level", `lvl-${depth + 1}`, depth + 1)]);
        else await act;
        return "never";
      });
    }, {}, kind);
    try {
      await h.client.startOrchestration("lvl-0", "Level", 0);
      await until(() => t.started.size === 3, 5_000, "three activities running");
      const t0 = Date.now();
      await h.client.cancelInstance("lvl-0", "shutdown requested");
      await until(() => t.aborted.size === 3, 3_000, "all activities signalled");
      for (const [tag, at] of t.aborted) assert.ok(at - t0 < 1_000, `${tag} signalled in ${at - t0} ms`);
      assert.equal((await h.client.waitForOrchestration("lvl-0", 5_000)).error, "canceled: shutdown requested");
      assert.equal((await h.client.waitForOrchestration("lvl-1", 5_000)).error, "canceled: parent canceled");
      assert.equal((await h.client.waitForOrchestration("lvl-2", 5_000)).error, "canceled: parent canceled");
    } finally {
      await h.close();
    }
  });

  it("a child cancelled directly reports a cancellation failure to its parent", async () => {
    const h = await harness((rt) => {
      rt.registerOrchestration("Child", async (ctx: OrchestrationContext) => ctx.waitForEvent("never"));
      rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => {
        try {
          await ctx.scheduleSubOrchestrationWithId("Child", "the-child");
          return "no";
        } catch (e) {
          return { message: (e as Error).message, typed: e instanceof SubOrchestrationFailedError };
        }
      });
    }, {}, kind);
    try {
      await h.client.startOrchestration("parent", "Parent");
      await until(async () => (await h.client.getStatus("the-child")).status === "Running", 5_000, "child running");
      await h.client.cancelInstance("the-child", "by operator");
      const r = await h.client.waitForOrchestration("parent", 5_000);
      assert.deepEqual(r.output, { message: "canceled: by operator", typed: true });
      assert.equal((await h.client.getStatus("the-child")).error, "canceled: by operator");
    } finally {
      await h.close();
    }
  });
});

}
