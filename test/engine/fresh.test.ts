// First turn of a brand-new execution: events, ids, work items.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { DUROXIDE_VERSION } from "../../src/model/events.js";
import { INSTANCE, activityDone, firstTurn, nextTurn, timerFired, types } from "./helpers.js";

test("fresh: OrchestrationStarted is event 1 with name, version, input and no parent", async () => {
  const { r } = await firstTurn(async () => "ok", { a: 1 });
  const s = r.delta[0]!;
  assert.equal(s.type, "OrchestrationStarted");
  assert.equal(s.eventId, 1);
  assert.equal(s.sourceEventId, null);
  assert.equal(s.instanceId, INSTANCE);
  assert.equal(s.executionId, 1);
  assert.equal(s.duroxideVersion, DUROXIDE_VERSION);
  if (s.type !== "OrchestrationStarted") return;
  assert.equal(s.name, "Orch");
  assert.equal(s.version, "1.0.0");
  assert.equal(s.input, '{"a":1}');
  assert.equal(s.parentInstance, null);
  assert.equal(s.parentId, null);
  assert.equal(s.parentExecutionId, null);
});

test("fresh: synchronous completion gives Completed with JSON output and terminal event last", async () => {
  const { r, x } = await firstTurn(async (_ctx, input: { a: number }) => ({ doubled: input.a * 2 }), { a: 21 });
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '{"doubled":42}');
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "OrchestrationCompleted"]);
  assert.equal(r.delta[1]!.eventId, 2);
  assert.equal(x.isFinished, true);
});

test("fresh: undefined result is stored as null", async () => {
  const { r } = await firstTurn(async () => undefined, null);
  assert.equal(r.output, "null");
});

test("fresh: decisions become events with consecutive ids and work items in emission order", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("A", 1);
    const t = ctx.scheduleTimer(250);
    const b = ctx.scheduleActivity("B", { x: "y" }, { sessionId: "s1" });
    await ctx.all([a, t, b]);
    return "done";
  };
  const { r } = await firstTurn(orch, null, [], { clock: () => 10_000 });
  assert.equal(r.status, "Running");
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled", "TimerCreated", "ActivityScheduled"]);
  assert.deepEqual(r.delta.map((e) => e.eventId), [1, 2, 3, 4]);
  const timer = r.delta[2]!;
  assert.equal(timer.type === "TimerCreated" && timer.fireAtMs, 10_250);
  assert.deepEqual(r.workerItems, [
    { type: "ActivityExecute", instance: INSTANCE, executionId: 1, id: 2, name: "A", input: "1", orchestrationName: "Orch", orchestrationVersion: "1.0.0" },
    {
      type: "ActivityExecute",
      instance: INSTANCE,
      executionId: 1,
      id: 4,
      name: "B",
      input: '{"x":"y"}',
      sessionId: "s1",
      orchestrationName: "Orch",
      orchestrationVersion: "1.0.0",
    },
  ]);
  assert.deepEqual(r.orchestratorItems, [{ type: "TimerFired", instance: INSTANCE, executionId: 1, id: 3, fireAtMs: 10_250 }]);
  assert.deepEqual(r.cancelledActivities, []);
  assert.equal(r.failure, null);
  assert.equal(r.output, null);
});

test("fresh: work items carry the execution id and the orchestration version", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null);
  const { r } = await firstTurn(orch, null, [], { executionId: 7, version: "2.1.0" });
  assert.equal(r.delta[1]!.executionId, 7);
  const w = r.workerItems[0]!;
  assert.equal(w.type === "ActivityExecute" && w.executionId, 7);
  assert.equal(w.type === "ActivityExecute" && w.orchestrationVersion, "2.1.0");
});

test("fresh: activity result decoded from JSON; next turn continues with the same object", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const v = await ctx.scheduleActivity<{ n: number }>("A", null);
    const w = await ctx.scheduleActivity<string>("B", v.n);
    return `${v.n}-${w}`;
  };
  const { x, r } = await firstTurn(orch, null);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled"]);
  const r2 = await nextTurn(x, [activityDone(2, { n: 5 })]);
  assert.deepEqual(types(r2.delta), ["ActivityCompleted", "ActivityScheduled"]);
  assert.deepEqual(r2.delta.map((e) => [e.eventId, e.sourceEventId]), [[3, 2], [4, null]]);
  assert.equal(r2.workerItems[0]!.type === "ActivityExecute" && r2.workerItems[0]!.input, "5");
  const r3 = await nextTurn(x, [activityDone(4, "w")]);
  assert.equal(r3.status, "Completed");
  assert.equal(r3.output, '"5-w"');
  assert.deepEqual(types(r3.delta), ["ActivityCompleted", "OrchestrationCompleted"]);
});

test("fresh: completions of another execution, unknown ids and duplicates are dropped (not nondeterminism)", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(5);
    return await ctx.scheduleActivity<number>("A", null);
  };
  const { x } = await firstTurn(orch, null);
  const r2 = await nextTurn(x, [timerFired(2, 99), activityDone(2, 1), activityDone(42, 1), timerFired(2), timerFired(2)]);
  assert.equal(r2.status, "Running");
  assert.deepEqual(types(r2.delta), ["TimerFired", "ActivityScheduled"]);
  const r3 = await nextTurn(x, [activityDone(4, 7, 2), activityDone(4, 8), activityDone(4, 9)]);
  assert.equal(r3.status, "Completed");
  assert.equal(r3.output, "8");
  assert.deepEqual(types(r3.delta), ["ActivityCompleted", "OrchestrationCompleted"]);
});

test("fresh: an output JSON cannot carry fails the orchestration (application)", async () => {
  const { r } = await firstTurn(async () => 10n as unknown as number, null);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "application");
  assert.match(r.failure && r.failure.category === "application" ? r.failure.message : "", /orchestration output cannot be stored as JSON: a BigInt .* at \$/);
});
