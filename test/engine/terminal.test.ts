// The terminal turn: outstanding work is cancelled before the terminal event; new work is not sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { INSTANCE, activityDone, firstTurn, lastEvent, nextTurn, subDone, types } from "./helpers.js";

test("terminal: activities and timers scheduled in the terminal turn are recorded but not sent", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.scheduleActivity("A", null);
    ctx.scheduleTimer(100);
    ctx.scheduleSubOrchestration("Child", null);
    return "done";
  };
  const { r } = await firstTurn(orch, null);
  assert.equal(r.status, "Completed");
  assert.deepEqual(types(r.delta), [
    "OrchestrationStarted",
    "ActivityScheduled",
    "TimerCreated",
    "SubOrchestrationScheduled",
    "ActivityCancelRequested",
    "SubOrchestrationCancelRequested",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(r.workerItems, []);
  assert.deepEqual(r.orchestratorItems, []);
  assert.deepEqual(r.cancelledActivities, []);
  assert.equal(r.delta[4]!.type === "ActivityCancelRequested" && r.delta[4]!.reason, "orchestration_terminal_completed");
});

test("terminal: activities open from earlier turns get ActivityCancelRequested before the terminal event and are lock-stolen", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("A", null);
    const b = ctx.scheduleActivity("B", null);
    void b;
    return a;
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [activityDone(2, "a")]);
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "ActivityCancelRequested", "OrchestrationCompleted"]);
  assert.equal(r.delta[1]!.sourceEventId, 3);
  assert.deepEqual(r.cancelledActivities, [{ instance: INSTANCE, executionId: 1, activityId: 3 }]);
  assert.equal(lastEvent(r).type, "OrchestrationCompleted");
});

test("terminal: failure turn uses the failed reason; open children are cancelled", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.scheduleActivity("A", null);
    ctx.scheduleSubOrchestration("Child", null);
    await ctx.scheduleTimer(1);
    throw new Error("bail");
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [{ type: "TimerFired", instance: INSTANCE, executionId: 1, id: 4, fireAtMs: 0 }]);
  assert.equal(r.status, "Failed");
  assert.deepEqual(types(r.delta), ["TimerFired", "ActivityCancelRequested", "SubOrchestrationCancelRequested", "OrchestrationFailed"]);
  assert.equal(r.delta[1]!.type === "ActivityCancelRequested" && r.delta[1]!.reason, "orchestration_terminal_failed");
  assert.deepEqual(r.orchestratorItems, [{ type: "CancelInstance", instance: `${INSTANCE}::sub::3`, reason: "parent dropped sub-orchestration future" }]);
});

test("terminal: the terminal event is always the last event, and detached starts are still sent", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.waitForEvent("x");
    ctx.startOrchestration("Job", "job-1", null);
    const c = await ctx.scheduleSubOrchestration("Child", null);
    return c;
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [subDone(4, "c")]);
  assert.equal(lastEvent(r).type, "OrchestrationCompleted");
  assert.deepEqual(types(r.delta), ["SubOrchestrationCompleted", "ExternalSubscribedCancelled", "OrchestrationCompleted"]);
  const first = await firstTurn(async (ctx: OrchestrationContext) => {
    ctx.startOrchestration("Job", "job-1", null);
    return 1;
  }, null);
  assert.deepEqual(first.r.orchestratorItems.map((w) => w.type), ["StartOrchestration"]);
});

test("terminal: a finished execution ignores further messages", async () => {
  const { x, r } = await firstTurn(async () => 1, null);
  assert.equal(r.status, "Completed");
  assert.equal(x.isFinished, true);
});
