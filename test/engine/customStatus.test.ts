// Custom status: CustomStatusUpdated events, in-memory value, initial status, replay.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, normalize, runCold, runLive, types } from "./helpers.js";

const orch = async (ctx: OrchestrationContext) => {
  const initial = ctx.getCustomStatus();
  ctx.setCustomStatus("step 1");
  await ctx.scheduleActivity("A", null);
  const mid = ctx.getCustomStatus();
  ctx.resetCustomStatus();
  return { initial, mid, end: ctx.getCustomStatus() };
};

test("custom status: set/reset record CustomStatusUpdated; getCustomStatus reads the in-memory value", async () => {
  const turns = [[], [activityDone(3, null)]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[0]!.delta), ["OrchestrationStarted", "CustomStatusUpdated", "ActivityScheduled"]);
  const e = live.results[0]!.delta[1]!;
  assert.equal(e.type === "CustomStatusUpdated" && e.status, "step 1");
  const last = live.results[1]!;
  assert.deepEqual(types(last.delta), ["ActivityCompleted", "CustomStatusUpdated", "OrchestrationCompleted"]);
  const reset = last.delta[1]!;
  assert.equal(reset.type === "CustomStatusUpdated" && reset.status, null);
  assert.deepEqual(JSON.parse(last.output!), { initial: null, mid: "step 1", end: null });
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("custom status: initial value comes from OrchestrationStarted.initialCustomStatus (also on replay)", async () => {
  const h = new History();
  h.started(null, { initialCustomStatus: "carried" });
  h.add({ type: "CustomStatusUpdated", status: "step 1" });
  const a = h.activity("A", null);
  const { r } = await coldTurn(orch, h.events, [activityDone(a, null)]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { initial: "carried", mid: "step 1", end: null });
});

test("custom status: matched by kind only on replay; a missing update is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  h.add({ type: "CustomStatusUpdated", status: "different text" });
  const a = h.activity("A", null);
  const ok = await coldTurn(orch, h.events, [activityDone(a, null)]);
  assert.equal(ok.r.status, "Completed");

  const noStatus = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
  };
  const bad = await coldTurn(noStatus, h.events);
  assert.equal(bad.r.status, "Failed");
  assert.equal(bad.r.failure?.category, "configuration");
  assert.match(JSON.stringify(bad.r.failure), /history has CustomStatusUpdated at event 2.*schedule activity 'A'/);
});

test("custom status: the last status is carried into continue-as-new", async () => {
  const can = async (ctx: OrchestrationContext) => {
    ctx.setCustomStatus("one");
    ctx.setCustomStatus("two");
    return ctx.continueAsNew(null);
  };
  const { r } = await firstTurn(can, null);
  const w = r.orchestratorItems.find((i) => i.type === "ContinueAsNew");
  assert.equal(w && w.type === "ContinueAsNew" && w.initialCustomStatus, "two");
});
