// The cached (live) path and the cold replay path give identical turn results for the same messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import type { OrchestrationHandler } from "../../src/orchestration/handler.js";
import type { WorkItem } from "../../src/model/workItems.js";
import { activityDone, activityFailed, cancelInstance, normalize, queued, raised, runCold, runLive, subDone, subFailed, timerFired } from "./helpers.js";

async function assertSame(handler: OrchestrationHandler, input: unknown, turns: WorkItem[][], finalStatus: string): Promise<void> {
  const live = await runLive(handler, input, turns);
  assert.equal(live.results.length, turns.length, "every turn ran");
  assert.equal(live.results[live.results.length - 1]!.status, finalStatus);
  const cold = await runCold(handler, input, turns);
  assert.equal(cold.results.length, live.results.length);
  for (let i = 0; i < live.results.length; i++) {
    const l = live.results[i]!;
    const c = cold.results[i]!;
    assert.deepEqual(normalize(c.delta), normalize(l.delta), `delta of turn ${i}`);
    assert.deepEqual(c.workerItems, l.workerItems, `worker items of turn ${i}`);
    assert.deepEqual(c.orchestratorItems, l.orchestratorItems, `orchestrator items of turn ${i}`);
    assert.deepEqual(c.cancelledActivities, l.cancelledActivities, `cancelled activities of turn ${i}`);
    assert.equal(c.status, l.status);
    assert.equal(c.output, l.output);
    assert.deepEqual(c.failure, l.failure);
  }
}

test("live vs cold: fan-out/fan-in with a failure and a retry", async () => {
  const orch = async (ctx: OrchestrationContext, n: number) => {
    const rs = await ctx.all(Array.from({ length: n }, (_, i) => ctx.scheduleActivity("Work", i)));
    const failed = rs.flatMap((r, i) => (r.err !== undefined ? [i] : []));
    const retried = await ctx.join(failed.map((i) => ctx.scheduleActivity("Work", i + 100)));
    return { rs, retried };
  };
  await assertSame(orch, 3, [[], [activityDone(3, "b"), activityFailed(2, "x")], [activityDone(4, "c")], [activityDone(8, "retry")]], "Completed");
});

test("live vs cold: approval workflow with timeout race, events and custom status", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.setCustomStatus("waiting");
    const r = await ctx.select2(ctx.waitForEvent<string>("approve"), ctx.scheduleTimer(60_000));
    if (r.index === 1) return "timed out";
    ctx.setCustomStatus("approved");
    const g = await ctx.newGuid();
    return ctx.scheduleActivity("Ship", { by: r.value, g });
  };
  await assertSame(orch, null, [[], [raised("noise", 1)], [raised("approve", "alice")], [activityDone(9, "shipped")]], "Completed");
  await assertSame(orch, null, [[], [timerFired(4)]], "Completed");
});

test("live vs cold: sub-orchestrations with a failure and a race loser", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const first = await ctx.scheduleSubOrchestration("Child", 1).then(
      (v) => v,
      (e: unknown) => `failed: ${(e as Error).message}`,
    );
    const w = await ctx.race(ctx.scheduleSubOrchestrationWithId("Child", "c2", 2), ctx.scheduleActivity("Fast", null));
    await ctx.startOrchestration("Audit", "audit-1", { first, w });
    return { first, w };
  };
  await assertSame(orch, null, [[], [subFailed(2, "boom")], [activityDone(5, "fast"), subDone(4, "slow")]], "Completed");
});

test("live vs cold: queues, KV and continue-as-new with carried messages", async () => {
  const orch = async (ctx: OrchestrationContext, input: { round: number }) => {
    const m = await ctx.dequeueEvent<string>("jobs");
    ctx.setValue(`job-${input.round}`, m);
    await ctx.scheduleActivity("Run", m);
    return ctx.continueAsNew({ round: input.round + 1 });
  };
  await assertSame(orch, { round: 1 }, [[], [queued("jobs", "j1"), queued("jobs", "j2")], [queued("jobs", "j3"), activityDone(5, "ok")]], "ContinuedAsNew");
});

test("live vs cold: cancellation in the middle of a timer loop", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("Background", null);
    for (let i = 0; i < 5; i++) await ctx.scheduleTimer(10);
    return a;
  };
  await assertSame(orch, null, [[], [timerFired(3)], [timerFired(5)], [cancelInstance("operator")]], "Failed");
});

test("live vs cold: generator with nested combinators", async () => {
  function* orch(ctx: OrchestrationContext): Generator<unknown, unknown, any> {
    const r = yield ctx.race(ctx.all([ctx.scheduleActivity("A", null), ctx.waitForEvent("e")]), ctx.scheduleTimer(100));
    const j = yield ctx.join2(ctx.utcNow(), ctx.scheduleActivity("B", r.index));
    return { r, j };
  }
  await assertSame(orch, null, [[], [raised("e", 1)], [activityDone(2, "a")], [activityDone(8, "b")]], "Completed");
});
