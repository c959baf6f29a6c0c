import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { activityDone, coldTurn, firstTurn, timerFired, types } from "./helpers.js";

test("engine smoke: activity then timer, live and cold paths agree", async () => {
  const orch = async (ctx: OrchestrationContext, input: { n: number }) => {
    const a = await ctx.scheduleActivity<number>("Double", input.n);
    await ctx.scheduleTimer(10);
    return a + 1;
  };
  const t1 = await firstTurn(orch, { n: 2 });
  assert.deepEqual(types(t1.r.delta), ["OrchestrationStarted", "ActivityScheduled"]);
  assert.equal(t1.r.workerItems.length, 1);
  await t1.x.applyMessages([activityDone(2, 4)]);
  const r2 = t1.x.finishTurn();
  t1.x.commit();
  assert.deepEqual(types(r2.delta), ["ActivityCompleted", "TimerCreated"]);
  const history = [...t1.r.delta, ...r2.delta];
  const cold = await coldTurn(orch, history, [timerFired(4)]);
  assert.equal(cold.r.status, "Completed");
  assert.equal(cold.r.output, "5");
  await t1.x.applyMessages([timerFired(4)]);
  const warm = t1.x.finishTurn();
  assert.deepEqual(warm.delta.map((e) => ({ ...e, timestampMs: 0 })), cold.r.delta.map((e) => ({ ...e, timestampMs: 0 })));
});
