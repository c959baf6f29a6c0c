// Generator-function orchestrations (duroxide-node form) behave like async functions on the same histories.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, activityFailed, coldTurn, firstTurn, normalize, raised, runCold, runLive, timerFired, types } from "./helpers.js";

const asyncOrch = async (ctx: OrchestrationContext, input: number) => {
  const a = await ctx.scheduleActivity<number>("A", input);
  let b: string;
  try {
    b = await ctx.scheduleActivity<string>("B", a);
  } catch (e) {
    b = `caught ${(e as Error).message}`;
  }
  const all = await ctx.all([ctx.scheduleTimer(5), ctx.waitForEvent("e")]);
  const w = await ctx.race(ctx.scheduleActivity("C", null), ctx.scheduleTimer(1));
  return { a, b, all, w };
};

function* genOrch(ctx: OrchestrationContext, input: number): Generator<unknown, unknown, any> {
  const a: number = yield ctx.scheduleActivity("A", input);
  let b: string;
  try {
    b = yield ctx.scheduleActivity("B", a);
  } catch (e) {
    b = `caught ${(e as Error).message}`;
  }
  const all = yield ctx.all([ctx.scheduleTimer(5), ctx.waitForEvent("e")]);
  const w = yield ctx.race(ctx.scheduleActivity("C", null), ctx.scheduleTimer(1));
  return { a, b, all, w };
}

const turns = [[], [activityDone(2, 10)], [activityFailed(4, "b bad")], [timerFired(6), raised("e", "ev")], [timerFired(11)]];

test("generator: produces the same history and result as the async form (live)", async () => {
  const viaAsync = await runLive(asyncOrch, 1, turns);
  const viaGen = await runLive(genOrch, 1, turns);
  assert.deepEqual(normalize(viaGen.history), normalize(viaAsync.history));
  const last = viaGen.results[viaGen.results.length - 1]!;
  assert.equal(last.status, "Completed");
  assert.deepEqual(JSON.parse(last.output!), {
    a: 10,
    b: "caught b bad",
    all: [{ ok: null }, { ok: "ev" }],
    w: { index: 1, value: null },
  });
});

test("generator: replays the async form's history (and vice versa), turn by turn", async () => {
  const viaAsync = await runLive(asyncOrch, 1, turns);
  const genCold = await runCold(genOrch, 1, turns);
  assert.deepEqual(normalize(genCold.history), normalize(viaAsync.history));
  const viaGen = await runLive(genOrch, 1, turns);
  const asyncCold = await runCold(asyncOrch, 1, turns);
  assert.deepEqual(normalize(asyncCold.history), normalize(viaGen.history));
});

test("generator: synthetic history replay", async () => {
  const h = new History();
  h.started(2);
  const a = h.activity("A", 2);
  h.activityDone(a, 20);
  const b = h.activity("B", 20);
  const { r } = await coldTurn(function* (ctx: OrchestrationContext, n: number): Generator<unknown, unknown, any> {
    const x: number = yield ctx.scheduleActivity("A", n);
    const y: string = yield ctx.scheduleActivity("B", x);
    return [x, y];
  }, h.events, [activityDone(b, "y")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '[20,"y"]');
});

test("generator: yielding a non-task fails with 'Invalid generator step result'", async () => {
  for (const bad of [5, "str", null, Promise.resolve(1), { then: undefined }]) {
    const { r } = await firstTurn(function* (): Generator<unknown, unknown, any> {
      yield bad;
      return "unreachable";
    }, null);
    assert.equal(r.status, "Failed");
    assert.equal(r.failure?.category, "application");
    assert.match(r.failure?.category === "application" ? r.failure.message : "", /Invalid generator step result/);
  }
});

test("generator: the invalid-yield error is thrown into the generator and can be caught", async () => {
  const { r } = await firstTurn(function* (ctx: OrchestrationContext): Generator<unknown, unknown, any> {
    try {
      yield 42;
    } catch (e) {
      const v: number = yield ctx.scheduleActivity("Recover", (e as Error).message.startsWith("Invalid generator step result"));
      return v;
    }
    return "no";
  }, null, [activityDone(2, 7)]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, "7");
  assert.equal(r.delta[1]!.type === "ActivityScheduled" && r.delta[1]!.input, "true");
});

test("generator: an error thrown by the generator fails the orchestration", async () => {
  const { r } = await firstTurn(function* (ctx: OrchestrationContext): Generator<unknown, unknown, any> {
    yield ctx.scheduleTimer(1);
    throw new Error("gen failed");
  }, null, [timerFired(2)]);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category === "application" && r.failure.message, "gen failed");
});

test("generator: a synchronous generator that yields nothing completes in the first turn", async () => {
  const { r } = await firstTurn(function* (): Generator<unknown, unknown, any> {
    return "immediate";
  }, null);
  assert.equal(r.status, "Completed");
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "OrchestrationCompleted"]);
});

test("plain (non-async) function returning a value or a task", async () => {
  const v = await firstTurn(() => 5, null);
  assert.equal(v.r.output, "5");
  const t = await firstTurn((ctx: OrchestrationContext) => ctx.scheduleActivity("A", null), null, [activityDone(2, "a")]);
  assert.equal(t.r.output, '"a"');
});

test("generator: finishing right after a race still records the losers' cancellation", async () => {
  function* g(ctx: OrchestrationContext): Generator<unknown, unknown, any> {
    const w = yield ctx.race(ctx.scheduleActivity("C", null), ctx.scheduleSubOrchestration("Child", null), ctx.scheduleTimer(1));
    return w;
  }
  function* s(ctx: OrchestrationContext): Generator<unknown, unknown, any> {
    const w = yield ctx.select2(ctx.scheduleActivity("C", null), ctx.scheduleTimer(1));
    return w;
  }
  const r1 = (await runLive(g, null, [[], [timerFired(4)]])).results[1]!;
  assert.equal(r1.status, "Completed");
  assert.deepEqual(types(r1.delta), ["TimerFired", "ActivityCancelRequested", "SubOrchestrationCancelRequested", "OrchestrationCompleted"]);
  assert.equal(r1.delta[1]!.type === "ActivityCancelRequested" && r1.delta[1]!.reason, "dropped_future");
  const r2 = (await runLive(s, null, [[], [timerFired(3)]])).results[1]!;
  assert.equal(r2.status, "Completed");
  assert.deepEqual(types(r2.delta), ["TimerFired", "ActivityCancelRequested", "OrchestrationCompleted"]);
});
