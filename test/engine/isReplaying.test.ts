// isReplaying and trace suppression during replay.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import type { TraceLevel } from "../../src/orchestration/execution.js";
import { activityDone, coldTurn, firstTurn, nextTurn } from "./helpers.js";

function orchWith(log: Array<[string, boolean]>) {
  return async (ctx: OrchestrationContext) => {
    log.push(["start", ctx.isReplaying]);
    ctx.traceInfo("start");
    const a = await ctx.scheduleActivity("A", null);
    log.push(["afterA", ctx.isReplaying]);
    ctx.traceWarn("after A");
    const b = await ctx.scheduleActivity("B", null);
    log.push(["afterB", ctx.isReplaying]);
    ctx.trace("error", "after B");
    ctx.traceDebug("debug");
    return [a, b];
  };
}

test("isReplaying: false throughout a live (first-turn and cached) run", async () => {
  const log: Array<[string, boolean]> = [];
  const { x } = await firstTurn(orchWith(log), null);
  assert.equal(x.isReplaying, false);
  await nextTurn(x, [activityDone(2, "a")]);
  await nextTurn(x, [activityDone(4, "b")]);
  assert.deepEqual(log, [
    ["start", false],
    ["afterA", false],
    ["afterB", false],
  ]);
});

test("isReplaying: true while re-running persisted history, false for new work", async () => {
  const live: Array<[string, boolean]> = [];
  const first = await firstTurn(orchWith(live), null);
  const r2 = await nextTurn(first.x, [activityDone(2, "a")]);
  const history = [...first.r.delta, ...r2.delta];
  const log: Array<[string, boolean]> = [];
  const { x, r } = await coldTurn(orchWith(log), history, [activityDone(4, "b")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(log, [
    ["start", true],
    ["afterA", true],
    ["afterB", false],
  ]);
  assert.equal(x.isReplaying, false);
});

test("trace: silent while replaying; emitted with instance fields when live", async () => {
  const calls: Array<[TraceLevel, string, Record<string, string | number>]> = [];
  const trace = (level: TraceLevel, message: string, fields: Record<string, string | number>) => void calls.push([level, message, fields]);
  const first = await firstTurn(orchWith([]), null, [], { trace });
  assert.deepEqual(calls.map((c) => c[1]), ["start"]);
  const r2 = await nextTurn(first.x, [activityDone(2, "a")]);
  assert.deepEqual(calls.map((c) => [c[0], c[1]]), [
    ["info", "start"],
    ["warn", "after A"],
  ]);
  assert.deepEqual(calls[0]![2], { instance_id: "inst-1", execution_id: 1, orchestration_name: "Orch", orchestration_version: "1.0.0" });

  const coldCalls: string[] = [];
  const history = [...first.r.delta, ...r2.delta];
  await coldTurn(orchWith([]), history, [activityDone(4, "b")], { trace: (l, m) => void coldCalls.push(`${l}:${m}`) });
  assert.deepEqual(coldCalls, ["error:after B", "debug:debug"]);
});

test("trace: a cold replay with no new messages logs nothing already logged", async () => {
  const first = await firstTurn(orchWith([]), null);
  const r2 = await nextTurn(first.x, [activityDone(2, "a")]);
  let n = 0;
  await coldTurn(orchWith([]), [...first.r.delta, ...r2.delta], [], { trace: () => void n++ });
  assert.equal(n, 0);
});
