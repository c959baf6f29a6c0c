// Completion delivery: one event at a time, in history order, with a full microtask drain after each.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, nextTurn, types } from "./helpers.js";

/** Many hops of real microtasks between a completion and the next decision. */
async function deep(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

function loggingOrch(log: string[]) {
  return async (ctx: OrchestrationContext) => {
    const helper = async (name: string) => {
      const v = await ctx.scheduleActivity<string>(name, null);
      await deep(10);
      log.push(v);
      return v;
    };
    const ps = [helper("A"), helper("B"), helper("C")];
    const out: string[] = [];
    for (const p of ps) out.push(await p);
    return { out, log };
  };
}

test("ordering: nested async helpers see results in history order, not scheduling order", async () => {
  const log: string[] = [];
  const { r } = await firstTurn(loggingOrch(log), null, [activityDone(4, "c"), activityDone(2, "a"), activityDone(3, "b")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(log, ["c", "a", "b"]);
  assert.deepEqual(JSON.parse(r.output!), { out: ["a", "b", "c"], log: ["c", "a", "b"] });
});

test("ordering: replay delivers in the order of the history, whatever the ids", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", null);
  const b = h.activity("B", null);
  const c = h.activity("C", null);
  h.activityDone(b, "b");
  h.activityDone(c, "c");
  const log: string[] = [];
  const { r } = await coldTurn(loggingOrch(log), h.events, [activityDone(a, "a")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(log, ["b", "c", "a"]);
});

test("ordering: a decision made after a deep await chain lands between two completions of the same batch", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity<string>("A", null);
    const b = ctx.scheduleActivity<string>("B", null);
    const va = await a;
    await deep(50);
    const c = ctx.scheduleActivity<string>("C", va);
    const vb = await b;
    return [va, vb, await c];
  };
  const { x } = await firstTurn(orch, null);
  const r2 = await nextTurn(x, [activityDone(2, "a"), activityDone(3, "b")]);
  assert.deepEqual(types(r2.delta), ["ActivityCompleted", "ActivityScheduled", "ActivityCompleted"]);
  assert.deepEqual(r2.delta.map((e) => e.eventId), [4, 5, 6]);
  // And the same history replays: C at event 5 matches.
  const h = [...(await firstTurn(orch, null)).r.delta, ...r2.delta];
  const cold = await coldTurn(orch, h, [activityDone(5, "c")]);
  assert.equal(cold.r.status, "Completed");
  assert.equal(cold.r.output, '["a","b","c"]');
});

test("ordering: race winner is the earlier completion in history even when both arrive in one batch", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const r = await ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null));
    return r;
  };
  const bFirst = await firstTurn(orch, null, [activityDone(3, "b"), activityDone(2, "a")]);
  assert.deepEqual(JSON.parse(bFirst.r.output!), { index: 1, value: "b" });
  const aFirst = await firstTurn(orch, null, [activityDone(2, "a"), activityDone(3, "b")]);
  assert.deepEqual(JSON.parse(aFirst.r.output!), { index: 0, value: "a" });
});

test("ordering: completions replayed one at a time: select sees only the first even if both are in history", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", null);
  const b = h.activity("B", null);
  h.activityDone(b, "b");
  h.activityCancelled(a);
  h.activityDone(a, "a");
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.select(ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null));
    return w;
  };
  // The history ends with the loser's late completion; the code finishes at event 4's delivery.
  // Such a history cannot come from our engine (it stops delivering once finished), so replaying it
  // is a divergence; the shorter history (without the late completion) completes.
  const short = new History();
  short.started(null);
  short.activity("A", null);
  const b2 = short.activity("B", null);
  const { r } = await coldTurn(orch, short.events, [activityDone(b2, "b"), activityDone(2, "a")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { index: 1, value: "b" });
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "ActivityCancelRequested", "OrchestrationCompleted"]);
  void h;
});

test("ordering: a loser's completion in the same batch is still recorded while the orchestration runs on", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null));
    const t = await ctx.scheduleActivity("C", w.index);
    return t;
  };
  const { x } = await firstTurn(orch, null);
  const r2 = await nextTurn(x, [activityDone(3, "b"), activityDone(2, "a")]);
  assert.deepEqual(types(r2.delta), ["ActivityCompleted", "ActivityCancelRequested", "ActivityScheduled", "ActivityCompleted"]);
  assert.equal(r2.delta[3]!.sourceEventId, 2);
  // replay of that history, then C completes
  const h1 = (await firstTurn(orch, null)).r.delta;
  const cold = await coldTurn(orch, [...h1, ...r2.delta], [activityDone(6, "c")]);
  assert.equal(cold.r.status, "Completed");
  assert.equal(cold.r.output, '"c"');
});
