import type { WorkItem } from "../../src/model/workItems.js";
// Continue-as-new: terminal event, work item with input/version, carried-forward queue messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, lastEvent, nextTurn, queued, runCold, runLive, types, normalize } from "./helpers.js";

const counter = async (ctx: OrchestrationContext, input: { n: number }) => {
  if (input.n >= 3) return `done at ${input.n}`;
  await ctx.scheduleTimer(10);
  return ctx.continueAsNew({ n: input.n + 1 });
};

test("can: status ContinuedAsNew, terminal OrchestrationContinuedAsNew last, ContinueAsNew work item", async () => {
  const { x } = await firstTurn(counter, { n: 1 });
  const r = await nextTurn(x, [{ type: "TimerFired", instance: "inst-1", executionId: 1, id: 2, fireAtMs: 0 }]);
  assert.equal(r.status, "ContinuedAsNew");
  assert.equal(r.output, '{"n":2}');
  assert.equal(r.failure, null);
  assert.deepEqual(types(r.delta), ["TimerFired", "OrchestrationContinuedAsNew"]);
  const t = lastEvent(r);
  assert.equal(t.type === "OrchestrationContinuedAsNew" && t.input, '{"n":2}');
  assert.deepEqual(r.orchestratorItems, [
    {
      type: "ContinueAsNew",
      instance: "inst-1",
      orchestration: "Orch",
      input: '{"n":2}',
      version: null,
      carryForwardEvents: [],
      initialCustomStatus: null,
      parent: null,
    },
  ]);
  assert.equal(x.isFinished, true);
});

test("can: continueAsNewVersioned puts the version on the work item", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.continueAsNewVersioned({ v: 2 }, "2.0.0");
  const { r } = await firstTurn(orch, null);
  assert.equal(r.status, "ContinuedAsNew");
  const w = r.orchestratorItems[0]!;
  assert.equal(w.type === "ContinueAsNew" && w.version, "2.0.0");
  assert.equal(w.type === "ContinueAsNew" && w.input, '{"v":2}');
});

test("can: code after continueAsNew does not run (the future never resolves)", async () => {
  let after = false;
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.continueAsNew(1);
    after = true;
    return "unreachable";
  };
  const { r } = await firstTurn(orch, null);
  assert.equal(r.status, "ContinuedAsNew");
  assert.equal(after, false);
});

test("can: continueAsNew need not be awaited; it wins over a later return", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    void ctx.continueAsNew("next");
    return "returned";
  };
  const { r } = await firstTurn(orch, null);
  assert.equal(r.status, "ContinuedAsNew");
  assert.equal(r.output, '"next"');
});

test("can: unconsumed queue messages are carried forward in arrival order; custom status carried", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
    const first = await ctx.dequeueEvent("q");
    ctx.setCustomStatus(`took ${JSON.stringify(first)}`);
    return ctx.continueAsNew(null);
  };
  const turns = [[], [queued("q", 1), queued("other", "o"), queued("q", 2)], [activityDone(2, null)]];
  const live = await runLive(orch, null, turns);
  const r = live.results[2]!;
  assert.equal(r.status, "ContinuedAsNew");
  const w = r.orchestratorItems.find((i) => i.type === "ContinueAsNew")!;
  assert.equal(w.type, "ContinueAsNew");
  if (w.type !== "ContinueAsNew") return;
  // Per-name FIFO; names grouped in first-arrival order.
  assert.deepEqual(w.carryForwardEvents, [["q", "2"], ["other", '"o"']]);
  assert.equal(w.initialCustomStatus, "took 1");
  const cold = await runCold(orch, null, turns);
  assert.deepEqual(normalize(cold.history), normalize(live.history));
  assert.deepEqual(cold.results[2]!.orchestratorItems, r.orchestratorItems);
});

test("can: queue messages in the same batch after the continue-as-new decision are carried forward", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
    return ctx.continueAsNew(null);
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [activityDone(2, null), queued("q", "after")]);
  assert.equal(r.status, "ContinuedAsNew");
  const w = r.orchestratorItems.find((i) => i.type === "ContinueAsNew");
  assert.deepEqual(w && w.type === "ContinueAsNew" ? w.carryForwardEvents : null, [["q", '"after"']]);
});

test("can: external events in the same batch after the continue-as-new decision are re-queued for the next execution", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
    return ctx.continueAsNew(null);
  };
  const { x } = await firstTurn(orch, null);
  const ev: WorkItem = { type: "ExternalRaised", instance: x.instance, name: "go", data: '"late"' };
  const r = await nextTurn(x, [activityDone(2, null), ev]);
  assert.equal(r.status, "ContinuedAsNew");
  const types = r.orchestratorItems.map((i) => i.type);
  assert.deepEqual(types, ["ContinueAsNew", "ExternalRaised"]);
  assert.ok(!r.delta.some((e) => e.type === "ExternalEvent"), "not recorded in the finished execution");
});

test("can: the next execution starts with carried events delivered first, and the initial custom status", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const status = ctx.getCustomStatus();
    const a = await ctx.dequeueEvent("q");
    const b = await ctx.dequeueEvent("q");
    return { status, a, b };
  };
  const { r } = await firstTurn(orch, "in", [queued("q", "fresh")], {
    executionId: 2,
    carryForwardEvents: [["q", '"carried"']],
    initialCustomStatus: "from before",
  });
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { status: "from before", a: "carried", b: "fresh" });
  const s = r.delta[0]!;
  assert.equal(s.type === "OrchestrationStarted" && s.initialCustomStatus, "from before");
  assert.deepEqual(s.type === "OrchestrationStarted" && s.carryForwardEvents, [["q", '"carried"']]);
  const delivered = r.delta.flatMap((e) => (e.type === "QueueEventDelivered" ? [e.data] : []));
  assert.deepEqual(delivered, ['"carried"', '"fresh"']);
  assert.ok(r.delta.every((e) => e.executionId === 2));
});

test("can: carried messages not yet delivered when the next execution continues as new again move on, in order", async () => {
  // Found by chaos: each execution takes one message and continues as new; with three carried, the
  // second and third were dropped (never delivered, never carried again) and the instance hung.
  const orch = async (ctx: OrchestrationContext, input: { seen: string[] }) => {
    const m = await ctx.dequeueEvent<string>("q");
    return ctx.continueAsNew({ seen: [...input.seen, m] });
  };
  const { r } = await firstTurn(orch, { seen: [] }, [queued("q", "fresh")], {
    executionId: 3,
    carryForwardEvents: [["q", '"c1"'], ["q", '"c2"'], ["q", '"c3"']],
  });
  assert.equal(r.status, "ContinuedAsNew");
  assert.deepEqual(JSON.parse(r.output!), { seen: ["c1"] });
  assert.deepEqual(r.delta.flatMap((e) => (e.type === "QueueEventDelivered" ? [e.data] : [])), ['"c1"']);
  const w = r.orchestratorItems.find((i) => i.type === "ContinueAsNew");
  assert.deepEqual(w && w.type === "ContinueAsNew" ? w.carryForwardEvents : null, [["q", '"c2"'], ["q", '"c3"'], ["q", '"fresh"']]);
});

test("can: replay of a new execution's history with carried events", async () => {
  const h = new History(2);
  h.started(null, { carryForwardEvents: [["q", '"c1"']] });
  h.add({ type: "QueueEventDelivered", name: "q", data: '"c1"' });
  h.add({ type: "QueueSubscribed", name: "q" });
  const a = h.activity("A", "c1");
  const orch = async (ctx: OrchestrationContext) => {
    const m = await ctx.dequeueEvent<string>("q");
    return ctx.scheduleActivity("A", m);
  };
  const { r } = await coldTurn(orch, h.events, [activityDone(a, "ok", 2)], { executionId: 2 });
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '"ok"');
});

test("can: a child that continues as new keeps its parent link on the work item", async () => {
  const parent = { parentInstance: "p", parentId: 3, parentExecutionId: 2 };
  const { r } = await firstTurn(async (ctx: OrchestrationContext) => ctx.continueAsNew(5), null, [], { parent });
  const w = r.orchestratorItems.find((i) => i.type === "ContinueAsNew");
  assert.deepEqual(w && w.type === "ContinueAsNew" ? w.parent : null, parent);
  assert.ok(!r.orchestratorItems.some((i) => i.type === "SubOrchCompleted" || i.type === "SubOrchFailed"));
});

test("can: open activities are cancelled before the terminal event", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("A", null);
    await ctx.scheduleTimer(1);
    void a;
    return ctx.continueAsNew(null);
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [{ type: "TimerFired", instance: "inst-1", executionId: 1, id: 3, fireAtMs: 0 }]);
  assert.deepEqual(types(r.delta), ["TimerFired", "ActivityCancelRequested", "OrchestrationContinuedAsNew"]);
  assert.equal(r.delta[1]!.type === "ActivityCancelRequested" && r.delta[1]!.reason, "orchestration_terminal_continued_as_new");
  assert.deepEqual(r.cancelledActivities, [{ instance: "inst-1", executionId: 1, activityId: 2 }]);
});
