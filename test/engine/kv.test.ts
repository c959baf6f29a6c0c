// KV state inside orchestrations: replayed from the code's own calls, timestamps from history.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, normalize, runCold, runLive, types } from "./helpers.js";

const rmw = async (ctx: OrchestrationContext) => {
  ctx.setValue("count", "1");
  await ctx.scheduleActivity("A", null);
  const before = ctx.getValue("count");
  ctx.setValue("count", String(Number(before) + 1));
  await ctx.scheduleActivity("B", null);
  return { count: ctx.getValue("count"), all: ctx.getKvAllValues(), keys: ctx.getKvAllKeys(), n: ctx.getKvLength() };
};

test("kv: setValue records KeyValueSet; read-modify-write replays to the same values", async () => {
  const turns = [[], [activityDone(3, null)], [activityDone(6, null)]];
  const live = await runLive(rmw, null, turns);
  assert.deepEqual(types(live.results[0]!.delta), ["OrchestrationStarted", "KeyValueSet", "ActivityScheduled"]);
  const kv = live.results[0]!.delta[1]!;
  assert.deepEqual(kv.type === "KeyValueSet" && [kv.key, kv.value], ["count", "1"]);
  const last = live.results[2]!;
  assert.deepEqual(JSON.parse(last.output!), { count: "2", all: { count: "2" }, keys: ["count"], n: 1 });
  const cold = await runCold(rmw, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
  assert.equal(cold.results[2]!.output, last.output);
});

test("kv: getValue during replay sees values set earlier in this execution (not re-emitted)", async () => {
  const h = new History();
  h.started(null);
  h.add({ type: "KeyValueSet", key: "count", value: "1", lastUpdatedAtMs: 10 });
  const a = h.activity("A", null);
  h.activityDone(a, null);
  h.add({ type: "KeyValueSet", key: "count", value: "2", lastUpdatedAtMs: 20 });
  const b = h.activity("B", null);
  const { r } = await coldTurn(rmw, h.events, [activityDone(b, null)]);
  assert.equal(r.status, "Completed");
  assert.equal(JSON.parse(r.output!).count, "2");
  assert.deepEqual(types(r.delta), ["ActivityCompleted", "OrchestrationCompleted"]);
});

test("kv: a different value than history is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  h.add({ type: "KeyValueSet", key: "count", value: "0", lastUpdatedAtMs: 10 });
  const { r } = await coldTurn(rmw, h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(JSON.stringify(r.failure), /KeyValueSet 'count' = 0 at event 2.*set KV 'count' to 1/);
});

test("kv: snapshot values (prior executions) are visible; clearValue / clearAllValues record events", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const seen = ctx.getValue("old");
    ctx.clearValue("old");
    ctx.setValue("x", "1");
    ctx.setValue("y", "2");
    const mid = ctx.getKvLength();
    ctx.clearAllValues();
    return { seen, mid, after: ctx.getKvLength(), missing: ctx.getValue("x") };
  };
  const { r } = await firstTurn(orch, null, [], { kvSnapshot: { old: { value: "v0", lastUpdatedAtMs: 1 } } });
  assert.deepEqual(JSON.parse(r.output!), { seen: "v0", mid: 2, after: 0, missing: null });
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "KeyValueCleared", "KeyValueSet", "KeyValueSet", "KeyValuesCleared", "OrchestrationCompleted"]);
});

test("kv: KeyValueSet timestamps come from history on replay, so pruning replays identically", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    ctx.setValue("a", "1");
    await ctx.scheduleActivity("A", null);
    const pruned = ctx.pruneKvValuesUpdatedBefore(1_000);
    await ctx.scheduleActivity("B", pruned);
    return { pruned, a: ctx.getValue("a") };
  };
  // Original run: the value was written at t=500, so pruning before 1000 cleared it.
  const h = new History();
  h.started(null);
  h.add({ type: "KeyValueSet", key: "a", value: "1", lastUpdatedAtMs: 500 });
  const a = h.activity("A", null);
  h.activityDone(a, null);
  h.add({ type: "KeyValueCleared", key: "a" });
  const b = h.activity("B", 1);
  // The replaying side's clock is far later: were it used, nothing would be pruned and replay would diverge.
  const { r } = await coldTurn(orch, h.events, [activityDone(b, null)], { clock: () => 50_000 });
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { pruned: 1, a: null });

  // And the other way round: written at t=5000, nothing pruned, even if the replay clock is earlier.
  const h2 = new History();
  h2.started(null);
  h2.add({ type: "KeyValueSet", key: "a", value: "1", lastUpdatedAtMs: 5_000 });
  const a2 = h2.activity("A", null);
  h2.activityDone(a2, null);
  const b2 = h2.activity("B", 0);
  const r2 = await coldTurn(orch, h2.events, [activityDone(b2, null)], { clock: () => 0 });
  assert.equal(r2.r.status, "Completed");
  assert.deepEqual(JSON.parse(r2.r.output!), { pruned: 0, a: "1" });
});

test("kv: live KeyValueSet.lastUpdatedAtMs comes from the clock", async () => {
  const { r } = await firstTurn(async (ctx: OrchestrationContext) => ctx.setValue("k", "v"), null, [], { clock: () => 777 });
  const e = r.delta[1]!;
  assert.equal(e.type === "KeyValueSet" && e.lastUpdatedAtMs, 777);
});
