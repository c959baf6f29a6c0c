// External events: positional / FIFO per name, buffered when raised before the wait, cancelled waits consume nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, nextTurn, normalize, raised, runCold, runLive, timerFired, types } from "./helpers.js";

test("events: the n-th wait gets the n-th raise of that name", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) got.push(await ctx.waitForEvent("e"));
    return got;
  };
  const { r } = await firstTurn(orch, null, [raised("e", 1), raised("e", 2), raised("e", 3)]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, "[1,2,3]");
  assert.deepEqual(types(r.delta), [
    "OrchestrationStarted",
    "ExternalSubscribed",
    "ExternalEvent",
    "ExternalSubscribed",
    "ExternalEvent",
    "ExternalSubscribed",
    "ExternalEvent",
    "OrchestrationCompleted",
  ]);
});

test("events: names are independent queues", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.waitForEvent("a");
    const b = ctx.waitForEvent("b");
    const a2 = ctx.waitForEvent("a");
    return ctx.join([a, b, a2]);
  };
  const { r } = await firstTurn(orch, null, [raised("b", "b1"), raised("a", "a1"), raised("a", "a2"), raised("b", "b2")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '["a1","b1","a2"]');
});

test("events: an event raised before the wait is kept and consumed by the next wait", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity("A", null);
    const e = await ctx.waitForEvent("go");
    return [a, e];
  };
  const turns = [[], [raised("go", "early"), raised("other", 1)], [activityDone(2, "a")]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), ["ExternalEvent", "ExternalEvent"]);
  assert.equal(live.results[1]!.status, "Running");
  const last = live.results[2]!;
  assert.equal(last.status, "Completed");
  assert.equal(last.output, '["a","early"]');
  assert.deepEqual(types(last.delta), ["ActivityCompleted", "ExternalSubscribed", "OrchestrationCompleted"]);
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("events: raised in the same batch before the first subscription is still delivered (buffered, not dropped)", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.waitForEvent("e");
  const { r } = await firstTurn(orch, null, [raised("e", "x")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '"x"');
});

test("events: buffered events keep FIFO order across turns", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(1);
    return [await ctx.waitForEvent("e"), await ctx.waitForEvent("e")];
  };
  const live = await runLive(orch, null, [[raised("e", 1)], [raised("e", 2)], [timerFired(2)]]);
  assert.equal(live.results[2]!.output, "[1,2]");
  const cold = await runCold(orch, null, [[raised("e", 1)], [raised("e", 2)], [timerFired(2)]]);
  assert.equal(cold.results[2]!.output, "[1,2]");
});

test("events: a cancelled wait (race loser) leaves a breadcrumb and does not consume an event", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const first = await ctx.race(ctx.waitForEvent("e"), ctx.scheduleTimer(100));
    const second = await ctx.waitForEvent("e");
    return { first, second };
  };
  const turns = [[], [timerFired(3)], [raised("e", "only")]];
  const live = await runLive(orch, null, turns);
  const r2 = live.results[1]!;
  assert.deepEqual(types(r2.delta), ["TimerFired", "ExternalSubscribedCancelled", "ExternalSubscribed"]);
  const crumb = r2.delta[1]!;
  assert.equal(crumb.sourceEventId, 2);
  assert.equal(crumb.type === "ExternalSubscribedCancelled" && crumb.reason, "dropped_future");
  assert.deepEqual(r2.orchestratorItems, []);
  const r3 = live.results[2]!;
  assert.equal(r3.status, "Completed");
  assert.deepEqual(JSON.parse(r3.output!), { first: { index: 1, value: null }, second: "only" });
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("events: an event raised after a wait was cancelled goes to the next wait, even in the same batch", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = ctx.waitForEvent("e");
    const first = await ctx.race(w, ctx.scheduleTimer(100));
    await ctx.scheduleActivity("A", null);
    return { first: first.index, second: await ctx.waitForEvent("e") };
  };
  const turns = [[], [timerFired(3), raised("e", "v")], [activityDone(6, null)]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), ["TimerFired", "ExternalSubscribedCancelled", "ActivityScheduled", "ExternalEvent"]);
  assert.equal(live.results[2]!.output, '{"first":1,"second":"v"}');
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("events: replay of a synthetic history with a cancelled wait and a buffered raise", async () => {
  const h = new History();
  h.started(null);
  const w1 = h.wait("e");
  const t = h.timer();
  h.timerFired(t);
  h.waitCancelled(w1);
  const a = h.activity("A", null);
  h.raised("e", "late"); // no wait open: buffered
  const orch = async (ctx: OrchestrationContext) => {
    const first = await ctx.race(ctx.waitForEvent("e"), ctx.scheduleTimer(100));
    await ctx.scheduleActivity("A", null);
    const second = await ctx.waitForEvent("e");
    return [first.index, second];
  };
  const { r } = await coldTurn(orch, h.events, [activityDone(a, null)]);
  // The code subscribes again after the activity: the buffered raise satisfies it at once.
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '[1,"late"]');
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "ExternalSubscribed", "OrchestrationCompleted"]);
});

test("events: replay where the second wait is in history and the raise arrives live", async () => {
  const h = new History();
  h.started(null);
  const w1 = h.wait("e");
  const t = h.timer();
  h.timerFired(t);
  h.waitCancelled(w1);
  h.wait("e");
  const orch = async (ctx: OrchestrationContext) => {
    const first = await ctx.race(ctx.waitForEvent("e"), ctx.scheduleTimer(100));
    const second = await ctx.waitForEvent("e");
    return [first.index, second];
  };
  const { r } = await coldTurn(orch, h.events, [raised("e", "v")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '[1,"v"]');
});

test("events: a history breadcrumb the code does not reproduce is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  const w1 = h.wait("e");
  const t = h.timer();
  h.timerFired(t);
  h.waitCancelled(w1);
  const orch = async (ctx: OrchestrationContext) => {
    const w = ctx.waitForEvent("e");
    await ctx.scheduleTimer(100); // no longer races: the wait is never cancelled
    await ctx.scheduleActivity("A", null);
    return w;
  };
  const { r } = await coldTurn(orch, h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(JSON.stringify(r.failure), /ExternalSubscribedCancelled for event 2/);
});

test("events: waits left open when the orchestration ends get an orchestration_terminal breadcrumb before the terminal event", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.waitForEvent("never");
    return "bye";
  };
  const { r } = await firstTurn(orch, null);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ExternalSubscribed", "ExternalSubscribedCancelled", "OrchestrationCompleted"]);
  const crumb = r.delta[2]!;
  assert.equal(crumb.type === "ExternalSubscribedCancelled" && crumb.reason, "orchestration_terminal");
  assert.equal(crumb.sourceEventId, 2);
});

test("events: event payloads are decoded JSON", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.waitForEvent<{ ok: boolean }>("e");
  const { r } = await firstTurn(orch, null, [raised("e", { ok: true })]);
  assert.equal(r.output, '{"ok":true}');
});

test("queues: dequeueEvent is FIFO and a cancelled dequeue leaves the message for the next", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const r = await ctx.race(ctx.dequeueEvent("q"), ctx.scheduleTimer(5));
    const a = await ctx.dequeueEvent("q");
    const b = await ctx.dequeueEvent("q");
    return [r.index, a, b];
  };
  const q = (d: unknown) => ({ type: "QueueMessage" as const, instance: "inst-1", name: "q", data: JSON.stringify(d) });
  const turns = [[], [timerFired(3), q(1), q(2)]];
  const live = await runLive(orch, null, turns);
  assert.equal(live.results[1]!.output, "[1,1,2]");
  assert.ok(types(live.results[1]!.delta).includes("QueueSubscriptionCancelled"));
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
  const x = live.x;
  void nextTurn;
  void x;
});
