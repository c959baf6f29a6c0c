// CancelInstance: Failed with Cancelled details, breadcrumbs for open work, cascading to children.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, INSTANCE, activityDone, cancelInstance, coldTurn, failureText, firstTurn, lastEvent, nextTurn, normalize, runCold, runLive, timerFired, types } from "./helpers.js";
import type { WorkItem } from "../../src/model/workItems.js";

const busy = async (ctx: OrchestrationContext) => {
  const a = ctx.scheduleActivity("A", null);
  const c = ctx.scheduleSubOrchestration("Child", null);
  const w = ctx.waitForEvent("e");
  const t = ctx.scheduleTimer(1000);
  return ctx.join([a, c, w, t]);
};

test("cancel: Failed with `canceled: <reason>`, breadcrumbs for open work, CancelInstance to children, terminal last", async () => {
  const { x } = await firstTurn(busy, null);
  const r = await nextTurn(x, [cancelInstance("user asked")]);
  assert.equal(r.status, "Failed");
  assert.deepEqual(r.failure, { category: "application", kind: "Cancelled", message: "", retryable: false, reason: "user asked" });
  assert.equal(failureText(r), "canceled: user asked");
  assert.deepEqual(types(r.delta), [
    "OrchestrationCancelRequested",
    "ActivityCancelRequested",
    "SubOrchestrationCancelRequested",
    "ExternalSubscribedCancelled",
    "OrchestrationFailed",
  ]);
  const [req, act, sub, wait] = r.delta;
  assert.equal(req!.type === "OrchestrationCancelRequested" && req!.reason, "user asked");
  assert.equal(act!.sourceEventId, 2);
  assert.equal(sub!.sourceEventId, 3);
  assert.equal(sub!.type === "SubOrchestrationCancelRequested" && sub!.reason, "parent canceled");
  assert.equal(wait!.sourceEventId, 4);
  assert.deepEqual(r.cancelledActivities, [{ instance: INSTANCE, executionId: 1, activityId: 2 }]);
  assert.deepEqual(r.orchestratorItems, [{ type: "CancelInstance", instance: `${INSTANCE}::sub::3`, reason: "parent canceled" }]);
  assert.deepEqual(r.workerItems, []);
  assert.equal(x.isFinished, true);
});

test("cancel: the cold path produces the same delta", async () => {
  const first = await firstTurn(busy, null);
  const warm = await nextTurn(first.x, [cancelInstance("stop")]);
  const cold = await coldTurn(busy, first.r.delta, [cancelInstance("stop")]);
  assert.deepEqual(normalize(cold.r.delta), normalize(warm.delta));
  assert.deepEqual(cold.r.orchestratorItems, warm.orchestratorItems);
  assert.deepEqual(cold.r.cancelledActivities, warm.cancelledActivities);
});

test("cancel: completed work is not cancelled; messages after the cancel in the batch are ignored", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
    return ctx.scheduleActivity("B", null);
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [activityDone(2, 1), cancelInstance("why"), activityDone(4, 2)]);
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "ActivityScheduled", "OrchestrationCancelRequested", "ActivityCancelRequested", "OrchestrationFailed"]);
  assert.equal(r.delta[3]!.sourceEventId, 4);
  // B was scheduled in this very turn: its work item is simply not sent.
  assert.deepEqual(r.workerItems, []);
  assert.deepEqual(r.cancelledActivities, []);
});

test("cancel: a cancelled child notifies its parent with SubOrchFailed(Cancelled)", async () => {
  const parent = { parentInstance: "p", parentId: 2, parentExecutionId: 1 };
  const first = await firstTurn(async (ctx: OrchestrationContext) => ctx.waitForEvent("e"), null, [], { parent });
  const r = await nextTurn(first.x, [{ type: "CancelInstance", instance: INSTANCE, reason: "parent canceled" }]);
  assert.deepEqual(r.orchestratorItems, [
    { type: "SubOrchFailed", ...parent, details: { category: "application", kind: "Cancelled", message: "", retryable: false, reason: "parent canceled" } },
  ]);
});

test("cancel: the code does not get to run after the cancel request", async () => {
  let ran = false;
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.waitForEvent("e");
    ran = true;
    ctx.scheduleActivity("After", null);
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [cancelInstance("x"), { type: "ExternalRaised", instance: INSTANCE, name: "e", data: "1" }]);
  assert.equal(ran, false);
  assert.equal(lastEvent(r).type, "OrchestrationFailed");
  assert.deepEqual(r.workerItems, []);
});

test("cancel: replaying a history ending in OrchestrationCancelRequested ends cancelled", async () => {
  const h = new History();
  h.started(null);
  h.activity("A", null);
  h.add({ type: "OrchestrationCancelRequested", reason: "r" });
  const { r } = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null), h.events);
  assert.equal(r.status, "Failed");
  assert.equal(failureText(r), "canceled: r");
  assert.deepEqual(types(r.delta), ["ActivityCancelRequested", "OrchestrationFailed"]);
});

test("cancellation: a cancelled activity's late poison failure is ignored live and on replay alike", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleActivity("Slow", null), ctx.scheduleTimer(10));
    await ctx.scheduleTimer(20);
    return w.index;
  };
  const poisoned: WorkItem = {
    type: "ActivityFailed",
    instance: INSTANCE,
    executionId: 1,
    id: 2,
    details: {
      category: "poison",
      attemptCount: 11,
      maxAttempts: 10,
      messageType: { kind: "Activity", instance: INSTANCE, executionId: 1, activityName: "Slow", activityId: 2 },
      message: "{}",
    },
  };
  // 1 Started, 2 ActivityScheduled, 3 TimerCreated | 4 TimerFired, 5 ActivityCancelRequested, 6 TimerCreated
  // | 7 ActivityFailed (poison, recorded only) | 8 TimerFired, completed.
  const turns: WorkItem[][] = [[], [timerFired(3)], [poisoned], [timerFired(6)]];
  const live = await runLive(orch, null, turns);
  const cold = await runCold(orch, null, turns);
  assert.equal(live.results.at(-1)!.status, "Completed");
  assert.equal(cold.results.at(-1)!.status, "Completed");
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});
