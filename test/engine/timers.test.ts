// Durable timers: fire time from the clock, TimerFired routed by id.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { InvalidArgumentError } from "../../src/model/errors.js";
import { History, coldTurn, firstTurn, nextTurn, timerFired, types } from "./helpers.js";

test("timers: TimerCreated.fireAtMs = now + delay; TimerFired work item carries id and fire time", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(1500);
    return "woke";
  };
  const { x, r } = await firstTurn(orch, null, [], { clock: () => 2_000 });
  const t = r.delta[1]!;
  assert.equal(t.type, "TimerCreated");
  assert.equal(t.type === "TimerCreated" && t.fireAtMs, 3_500);
  assert.deepEqual(r.orchestratorItems, [{ type: "TimerFired", instance: "inst-1", executionId: 1, id: 2, fireAtMs: 3_500 }]);
  const r2 = await nextTurn(x, [timerFired(2, 1, 3_500)]);
  assert.deepEqual(types(r2.delta), ["TimerFired", "OrchestrationCompleted"]);
  assert.equal(r2.delta[0]!.type === "TimerFired" && r2.delta[0]!.fireAtMs, 3_500);
  assert.equal(r2.delta[0]!.sourceEventId, 2);
  assert.equal(r2.output, '"woke"');
});

test("timers: TimerFired is delivered to the timer with that id (shorter timer fires first)", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const long = ctx.scheduleTimer(1000);
    const short = ctx.scheduleTimer(10);
    const w = await ctx.select(long, short);
    return w.index;
  };
  const { x, r } = await firstTurn(orch, null, [], { clock: () => 0 });
  const fires = r.orchestratorItems.map((w) => (w.type === "TimerFired" ? [w.id, w.fireAtMs] : null));
  assert.deepEqual(fires, [[2, 1000], [3, 10]]);
  const r2 = await nextTurn(x, [timerFired(3, 1, 10)]);
  assert.equal(r2.status, "Completed");
  assert.equal(r2.output, "1");
  // A losing timer needs no breadcrumb.
  assert.deepEqual(types(r2.delta), ["TimerFired", "OrchestrationCompleted"]);
});

test("timers: on replay, the fire time in history is kept (timers match by kind only)", async () => {
  const h = new History();
  h.started(null);
  const t = h.timer(42);
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(999_999);
    return "ok";
  };
  const { r } = await coldTurn(orch, h.events, [timerFired(t, 1, 42)], { clock: () => 10 });
  assert.equal(r.status, "Completed");
  assert.deepEqual(r.orchestratorItems, []);
});

test("timers: zero delay is allowed; negative or fractional delays are rejected", async () => {
  const zero = await firstTurn(async (ctx: OrchestrationContext) => ctx.scheduleTimer(0), null, [timerFired(2)]);
  assert.equal(zero.r.status, "Completed");
  for (const bad of [-1, 1.5, Number.NaN]) {
    const { r } = await firstTurn(async (ctx: OrchestrationContext) => {
      try {
        ctx.scheduleTimer(bad);
      } catch (e) {
        return e instanceof InvalidArgumentError ? "rejected" : "other";
      }
      return "accepted";
    }, null);
    assert.equal(r.output, '"rejected"');
  }
});

test("timers: sequential timers in a loop replay", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    for (let i = 0; i < 3; i++) await ctx.scheduleTimer(10);
    return "done";
  };
  const h = new History();
  h.started(null);
  for (let i = 0; i < 2; i++) h.timerFired(h.timer());
  const last = h.timer();
  const { r } = await coldTurn(orch, h.events, [timerFired(last)]);
  assert.equal(r.status, "Completed");
});
