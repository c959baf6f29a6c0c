// all / join / race / select, nested combinators, explicit cancellation of losers.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { ActivityFailedError } from "../../src/model/errors.js";
import {
  History,
  INSTANCE,
  activityDone,
  activityFailed,
  coldTurn,
  firstTurn,
  nextTurn,
  normalize,
  raised,
  runCold,
  runLive,
  subDone,
  timerFired,
  types,
} from "./helpers.js";

test("all: results in argument order with {ok}/{err} entries, whatever the completion order", async () => {
  const orch = async (ctx: OrchestrationContext) =>
    ctx.all([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null), ctx.scheduleActivity("C", null)]);
  const { r } = await firstTurn(orch, null, [activityDone(4, "c"), activityFailed(3, "b failed"), activityDone(2, "a")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), [{ ok: "a" }, { err: "b failed" }, { ok: "c" }]);
});

test("all: waits for every task (no short-circuit on a failure)", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.all([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null)]);
  const { x } = await firstTurn(orch, null);
  const r1 = await nextTurn(x, [activityFailed(2, "x")]);
  assert.equal(r1.status, "Running");
  const r2 = await nextTurn(x, [activityDone(3, 1)]);
  assert.deepEqual(JSON.parse(r2.output!), [{ err: "x" }, { ok: 1 }]);
});

test("all: accepts async blocks mixed with tasks, and an empty list", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const block = (async () => {
      const a = await ctx.scheduleActivity<number>("A", null);
      const b = await ctx.scheduleActivity<number>("B", a);
      return a + b;
    })();
    const failing = (async () => {
      await ctx.scheduleTimer(1);
      throw new Error("block failed");
    })();
    const empty = await ctx.all([]);
    return { res: await ctx.all([block, ctx.scheduleActivity("C", null), failing]), empty };
  };
  const turns = [[], [activityDone(2, 1), timerFired(3)], [activityDone(4, "c")], [activityDone(6, 2)]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), ["ActivityCompleted", "ActivityScheduled", "TimerFired"]);
  const last = live.results[3]!;
  assert.equal(last.status, "Completed");
  assert.deepEqual(JSON.parse(last.output!), { res: [{ ok: 3 }, { ok: "c" }, { err: "block failed" }], empty: [] });
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("join: values in order; join2/join3 tuples", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const j = await ctx.join([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null)]);
    const [p, q] = await ctx.join2(ctx.scheduleActivity<number>("C", null), ctx.waitForEvent<string>("e"));
    const [s, t, u] = await ctx.join3(ctx.newGuid(), ctx.scheduleTimer(1), (async () => "blk")());
    return { j, p, q, s, t, u };
  };
  const turns = [[], [activityDone(3, "b"), activityDone(2, "a")], [raised("e", "ev"), activityDone(6, 3)], [timerFired(11)]];
  const live = await runLive(orch, null, turns);
  const last = live.results[live.results.length - 1]!;
  assert.equal(last.status, "Completed");
  assert.deepEqual(JSON.parse(last.output!), { j: ["a", "b"], p: 3, q: "ev", s: "guid-1", t: null, u: "blk" });
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("join: throws the first failure (argument order) only after every task settled; catchable", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    try {
      await ctx.join([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null), ctx.scheduleActivity("C", null)]);
      return "no";
    } catch (e) {
      return { msg: (e as Error).message, isAct: e instanceof ActivityFailedError };
    }
  };
  const { x } = await firstTurn(orch, null);
  const r1 = await nextTurn(x, [activityFailed(4, "c failed"), activityFailed(3, "b failed")]);
  assert.equal(r1.status, "Running");
  const r2 = await nextTurn(x, [activityDone(2, "a")]);
  assert.deepEqual(JSON.parse(r2.output!), { msg: "b failed", isAct: true });
});

test("race: three tasks; winner {index,value}; activity, sub-orchestration and wait losers cancelled explicitly", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleSubOrchestration("Child", null), ctx.waitForEvent("e"), ctx.scheduleTimer(50));
    return w;
  };
  const { x, r } = await firstTurn(orch, null);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled", "SubOrchestrationScheduled", "ExternalSubscribed", "TimerCreated"]);
  const r2 = await nextTurn(x, [timerFired(5)]);
  assert.deepEqual(JSON.parse(r2.output!), { index: 3, value: null });
  assert.deepEqual(types(r2.delta), [
    "TimerFired",
    "ActivityCancelRequested",
    "SubOrchestrationCancelRequested",
    "ExternalSubscribedCancelled",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(r2.delta.slice(1, 4).map((e) => [e.sourceEventId, (e as { reason: string }).reason]), [
    [2, "dropped_future"],
    [3, "dropped_future"],
    [4, "dropped_future"],
  ]);
  assert.deepEqual(r2.cancelledActivities, [{ instance: INSTANCE, executionId: 1, activityId: 2 }]);
  assert.deepEqual(r2.orchestratorItems, [{ type: "CancelInstance", instance: `${INSTANCE}::sub::3`, reason: "parent dropped sub-orchestration future" }]);
});

test("race: losers are cancelled while the orchestration keeps running; replay of those breadcrumbs works", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleSubOrchestration("Child", null), ctx.waitForEvent("e"));
    const after = await ctx.scheduleActivity("Next", w.index);
    const late = await ctx.waitForEvent("e");
    return { w, after, late };
  };
  const turns = [[], [subDone(3, "child")], [activityDone(2, "late a"), raised("e", "ev")], [activityDone(8, "n")]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), [
    "SubOrchestrationCompleted",
    "ActivityCancelRequested",
    "ExternalSubscribedCancelled",
    "ActivityScheduled",
  ]);
  assert.deepEqual(live.results[1]!.cancelledActivities, [{ instance: INSTANCE, executionId: 1, activityId: 2 }]);
  // The late completion of the cancelled activity is recorded but goes nowhere; the raise waits in the buffer.
  assert.deepEqual(types(live.results[2]!.delta), ["ActivityCompleted", "ExternalEvent"]);
  const last = live.results[3]!;
  assert.deepEqual(JSON.parse(last.output!), { w: { index: 1, value: "child" }, after: "n", late: "ev" });
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
  for (let i = 0; i < live.results.length; i++) {
    assert.deepEqual(cold.results[i]!.cancelledActivities, live.results[i]!.cancelledActivities);
    assert.deepEqual(cold.results[i]!.orchestratorItems, live.results[i]!.orchestratorItems);
  }
});

test("race: a failed winner's message is flattened into value", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleTimer(10));
  const { r } = await firstTurn(orch, null, [activityFailed(2, "nope")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { index: 0, value: "nope" });
});

test("select/select2/select3: a failed winner throws the task error (catchable)", async () => {
  for (const pick of ["select", "select2", "select3"] as const) {
    const orch = async (ctx: OrchestrationContext) => {
      const a = ctx.scheduleActivity("A", null);
      const t = ctx.scheduleTimer(10);
      const w = ctx.waitForEvent("e");
      try {
        const res = pick === "select" ? await ctx.select(a, t, w) : pick === "select2" ? await ctx.select2(a, t) : await ctx.select3(a, t, w);
        return { res };
      } catch (e) {
        return { err: (e as Error).message, isAct: e instanceof ActivityFailedError };
      }
    };
    const { r } = await firstTurn(orch, null, [activityFailed(2, "bad")]);
    assert.deepEqual(JSON.parse(r.output!), { err: "bad", isAct: true }, pick);
  }
});

test("select3: winner index and value", async () => {
  const orch = async (ctx: OrchestrationContext) =>
    ctx.select3(ctx.scheduleActivity("A", null), ctx.scheduleTimer(10), ctx.waitForEvent<string>("e"));
  const { r } = await firstTurn(orch, null, [raised("e", "ev"), activityDone(2, "a")]);
  assert.deepEqual(JSON.parse(r.output!), { index: 2, value: "ev" });
  // A was scheduled this turn: breadcrumb, no work item; the timer loser needs nothing; the later completion is not applied.
  assert.deepEqual(types(r.delta), [
    "OrchestrationStarted",
    "ActivityScheduled",
    "TimerCreated",
    "ExternalSubscribed",
    "ExternalEvent",
    "ActivityCancelRequested",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(r.workerItems, []);
  assert.deepEqual(r.orchestratorItems, []);
});

test("race: already-settled tasks win in argument order; a same-turn activity loser is withdrawn, not lock-stolen", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleActivity("A", null), ctx.utcNow(), ctx.newGuid());
    await ctx.scheduleTimer(1);
    return w.index;
  };
  const { r } = await firstTurn(orch, null);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled", "SystemCall", "SystemCall", "ActivityCancelRequested", "TimerCreated"]);
  assert.deepEqual(r.workerItems, []);
  assert.deepEqual(r.cancelledActivities, []);
});

test("race: a same-turn sub-orchestration loser is never started", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.scheduleSubOrchestration("Child", null), ctx.utcNow());
    await ctx.scheduleTimer(1);
    return w.index;
  };
  const { r } = await firstTurn(orch, null);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "SubOrchestrationScheduled", "SystemCall", "SubOrchestrationCancelRequested", "TimerCreated"]);
  assert.deepEqual(r.orchestratorItems.map((w) => w.type), ["TimerFired"]);
});

test("nested: all inside race — the timer wins and every activity of the all is cancelled", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const w = await ctx.race(ctx.all([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null)]), ctx.scheduleTimer(100));
    return w;
  };
  const turns = [[], [activityDone(2, "a")], [timerFired(4)]];
  const live = await runLive(orch, null, turns);
  const last = live.results[2]!;
  assert.deepEqual(JSON.parse(last.output!), { index: 1, value: null });
  assert.deepEqual(types(last.delta), ["TimerFired", "ActivityCancelRequested", "OrchestrationCompleted"]);
  assert.equal(last.delta[1]!.sourceEventId, 3);
  assert.deepEqual(last.cancelledActivities, [{ instance: INSTANCE, executionId: 1, activityId: 3 }]);
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("nested: all inside race — the all wins", async () => {
  const orch = async (ctx: OrchestrationContext) =>
    ctx.race(ctx.all([ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null)]), ctx.scheduleTimer(100));
  const { r } = await firstTurn(orch, null, [activityDone(3, "b"), activityDone(2, "a")]);
  assert.deepEqual(JSON.parse(r.output!), { index: 0, value: [{ ok: "a" }, { ok: "b" }] });
  assert.deepEqual(r.orchestratorItems, []);
});

test("nested: race inside all", async () => {
  const orch = async (ctx: OrchestrationContext) =>
    ctx.all([ctx.race(ctx.scheduleActivity("A", null), ctx.scheduleTimer(5)), ctx.scheduleActivity("B", null)]);
  const turns = [[], [timerFired(3)], [activityDone(4, "b")]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), ["TimerFired", "ActivityCancelRequested"]);
  assert.equal(live.results[1]!.status, "Running");
  assert.deepEqual(JSON.parse(live.results[2]!.output!), [{ ok: { index: 1, value: null } }, { ok: "b" }]);
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("nested: race of async blocks cancels the durable tasks inside a losing block only through explicit cancel", async () => {
  // An async block is not a durable task: the engine cannot reach inside it, so its activity stays open.
  const orch = async (ctx: OrchestrationContext) => {
    const block = (async () => ctx.scheduleActivity("Inner", null))();
    const w = await ctx.race(block, ctx.scheduleTimer(5));
    return w.index;
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [timerFired(3)]);
  assert.deepEqual(types(r.delta), ["TimerFired", "ActivityCancelRequested", "OrchestrationCompleted"]);
  assert.equal(r.delta[1]!.type === "ActivityCancelRequested" && r.delta[1]!.reason, "orchestration_terminal_completed");
});

test("explicit cancel(): an activity future cancelled by the code is withdrawn durably and replays", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("A", null);
    await ctx.scheduleTimer(1);
    a.cancel();
    const r = await a.then(
      () => "resolved",
      (e: unknown) => (e as Error).message,
    );
    return ctx.scheduleActivity("B", r);
  };
  const turns = [[], [timerFired(3)], [activityDone(6, "b")]];
  const live = await runLive(orch, null, turns);
  assert.deepEqual(types(live.results[1]!.delta), ["TimerFired", "ActivityCancelRequested", "ActivityScheduled"]);
  assert.equal(live.results[1]!.workerItems[0]!.type === "ActivityExecute" && live.results[1]!.workerItems[0]!.input, '"activity task was cancelled"');
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
});

test("replay: a synthetic history with select breadcrumbs replays and continues", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", null);
  const c = h.sub("Child", `${INSTANCE}::sub::3`, null);
  const w = h.wait("e");
  const t = h.timer();
  h.timerFired(t);
  h.activityCancelled(a);
  h.subCancelled(c);
  h.waitCancelled(w);
  const n = h.activity("Next", 3);
  const orch = async (ctx: OrchestrationContext) => {
    const r = await ctx.select(ctx.scheduleActivity("A", null), ctx.scheduleSubOrchestration("Child", null), ctx.waitForEvent("e"), ctx.scheduleTimer(9));
    return ctx.scheduleActivity("Next", r.index);
  };
  const { r } = await coldTurn(orch, h.events, [activityDone(n, "fin")]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '"fin"');
  // Replay does not re-send the side channels of breadcrumbs already in history.
  assert.deepEqual(r.cancelledActivities, []);
  assert.deepEqual(r.orchestratorItems, []);
});

test("replay: breadcrumbs in a different order than the code cancels is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", null);
  const b = h.activity("B", null);
  const t = h.timer();
  h.timerFired(t);
  h.activityCancelled(b);
  h.activityCancelled(a);
  const orch = async (ctx: OrchestrationContext) => ctx.select(ctx.scheduleActivity("A", null), ctx.scheduleActivity("B", null), ctx.scheduleTimer(9));
  const { r } = await coldTurn(orch, h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(JSON.stringify(r.failure), /ActivityCancelRequested for event 3 at event 6.*cancel \(ActivityCancelRequested\) the task scheduled at event 2/);
});
