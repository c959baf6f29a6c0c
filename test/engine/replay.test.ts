// Replay of synthetic histories: decisions matched in order, completions delivered in history order.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, nextTurn, normalize, types } from "./helpers.js";

const seq = async (ctx: OrchestrationContext, input: number) => {
  const a = await ctx.scheduleActivity<number>("A", input);
  const b = await ctx.scheduleActivity<number>("B", a);
  await ctx.scheduleTimer(100);
  const c = await ctx.scheduleActivity<number>("C", b);
  return c;
};

test("replay: each emitted decision binds to the next decision event of history", async () => {
  const h = new History();
  h.started(1);
  const a = h.activity("A", 1);
  h.activityDone(a, 2);
  const b = h.activity("B", 2);
  h.activityDone(b, 3);
  const t = h.timer();
  h.timerFired(t);
  const c = h.activity("C", 3);
  const { x, r } = await coldTurn(seq, h.events, [activityDone(c, 4)]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, "4");
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "OrchestrationCompleted"]);
  assert.deepEqual(r.delta.map((e) => e.eventId), [h.events.length + 1, h.events.length + 2]);
  assert.equal(r.delta[0]!.sourceEventId, c);
  assert.equal(x.historyLength, h.events.length + 2);
});

test("replay: nothing already in history is re-emitted; new decisions past history get fresh ids", async () => {
  const h = new History();
  h.started(1);
  const a = h.activity("A", 1);
  h.activityDone(a, 2);
  const b = h.activity("B", 2);
  const { r } = await coldTurn(seq, h.events, [activityDone(b, 3)]);
  assert.equal(r.status, "Running");
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "TimerCreated"]);
  assert.deepEqual(r.workerItems, []);
  assert.equal(r.orchestratorItems.length, 1);
  assert.equal(r.orchestratorItems[0]!.type === "TimerFired" && r.orchestratorItems[0]!.id, 6);
});

test("replay: decisions emitted after the last history event (no new message) are created at the end of replay", async () => {
  // History stops right after a completion: the code's next decision is new work.
  const h = new History();
  h.started(1);
  const a = h.activity("A", 1);
  h.activityDone(a, 2);
  const { r } = await coldTurn(seq, h.events);
  assert.equal(r.status, "Running");
  assert.deepEqual(types(r.delta), ["ActivityScheduled"]);
  assert.equal(r.delta[0]!.eventId, 4);
  assert.equal(r.workerItems.length, 1);
});

test("replay: a full live run replays cold to the same state, turn by turn", async () => {
  const clock = () => 5_000; // same clock on both sides: fireAtMs is computed from it
  const { x, r } = await firstTurn(seq, 1, [], { clock });
  const history = [...r.delta];
  const msgs = [[activityDone(2, 2)], [activityDone(4, 3)], [{ type: "TimerFired" as const, instance: "inst-1", executionId: 1, id: 6, fireAtMs: 0 }], [activityDone(8, 4)]];
  for (const m of msgs) {
    const cold = await coldTurn(seq, history, m, { clock });
    const warm = await nextTurn(x, m);
    assert.deepEqual(normalize(cold.r.delta), normalize(warm.delta));
    assert.equal(cold.r.status, warm.status);
    history.push(...warm.delta);
  }
  assert.equal(history[history.length - 1]!.type, "OrchestrationCompleted");
});

test("replay: input comes from OrchestrationStarted; undecodable text is passed raw", async () => {
  const h = new History();
  h.add({ type: "OrchestrationStarted", name: "Orch", version: "1.0.0", input: "not json", parentInstance: null, parentId: null, parentExecutionId: null });
  const a = h.activity("Echo", "not json");
  const orch = async (ctx: OrchestrationContext, input: unknown) => ({ got: input, echo: await ctx.scheduleActivity("Echo", input) });
  const { r } = await coldTurn(orch, h.events, [activityDone(a, "e")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '{"got":"not json","echo":"e"}');
});

test("replay: code that completes during replay of a still-running history is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  const { r } = await coldTurn(async () => "done at once", h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(JSON.stringify(r.failure), /finished during replay/);
});

test("replay: empty history and a history not starting with OrchestrationStarted are nondeterminism", async () => {
  const empty = await coldTurn(async () => 1, []);
  assert.equal(empty.r.status, "Failed");
  assert.equal(empty.r.failure?.category, "configuration");
  assert.match(JSON.stringify(empty.r.failure), /corrupted history: empty/);
  const h = new History();
  h.activity("A", 1);
  const bad = await coldTurn(async () => 1, h.events);
  assert.equal(bad.r.status, "Failed");
  assert.equal(bad.r.failure?.category, "configuration");
  assert.match(JSON.stringify(bad.r.failure), /first event must be OrchestrationStarted/);
});

test("replay: a second OrchestrationStarted or a terminal event in history is rejected", async () => {
  const h = new History();
  h.started(1);
  h.started(1);
  const r1 = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null), h.events);
  assert.equal(r1.r.failure?.category, "configuration");
  assert.match(JSON.stringify(r1.r.failure), /second OrchestrationStarted/);
  const h2 = new History();
  h2.started(1);
  const a = h2.activity("A", 1);
  h2.activityDone(a, 1);
  h2.add({ type: "OrchestrationCompleted", output: "1" });
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1);
    await ctx.scheduleActivity("B", 1);
  };
  const r2 = await coldTurn(orch, h2.events);
  assert.equal(r2.r.status, "Failed");
  assert.match(JSON.stringify(r2.r.failure), /cannot replay a finished execution/);
});

test("replay: completion in history for an id that was never scheduled / duplicated / wrong kind is nondeterminism", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1);
    await ctx.scheduleTimer(5);
    return 0;
  };
  const orphan = new History();
  orphan.started(null);
  orphan.activity("A", 1);
  orphan.activityDone(17, 1);
  const r1 = await coldTurn(orch, orphan.events);
  assert.equal(r1.r.failure?.category, "configuration");
  assert.match(JSON.stringify(r1.r.failure), /ActivityCompleted for event 17, which the code never scheduled/);

  const dup = new History();
  dup.started(null);
  const a = dup.activity("A", 1);
  dup.activityDone(a, 1);
  dup.activityDone(a, 1);
  const r2 = await coldTurn(orch, dup.events);
  assert.equal(r2.r.failure?.category, "configuration");
  assert.match(JSON.stringify(r2.r.failure), /second completion for event 2/);

  const kind = new History();
  kind.started(null);
  const a2 = kind.activity("A", 1);
  kind.timerFired(a2);
  const r3 = await coldTurn(orch, kind.events);
  assert.equal(r3.r.failure?.category, "configuration");
  assert.match(JSON.stringify(r3.r.failure), /TimerFired for event 2, but the code scheduled a activity there/);
});
