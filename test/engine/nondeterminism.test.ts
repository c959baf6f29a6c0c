// Positional matching failures: precise messages naming both history and code; category configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import type { TurnResult } from "../../src/orchestration/execution.js";
import { History, activityDone, coldTurn, failureText, lastEvent, types } from "./helpers.js";

function assertNondeterminism(r: TurnResult, ...patterns: RegExp[]): void {
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.equal(r.failure?.category === "configuration" && r.failure.kind, "Nondeterminism");
  const text = failureText(r);
  assert.match(text, /^nondeterministic: /);
  for (const p of patterns) assert.match(text, p);
  assert.equal(lastEvent(r).type, "OrchestrationFailed");
}

function historyAB(extraA: { sessionId?: string; tag?: string } = {}): { h: History; a: number; b: number } {
  const h = new History();
  h.started(null);
  const a = h.activity("A", 1, extraA);
  h.activityDone(a, 10);
  const b = h.activity("B", 10);
  return { h, a, b };
}

test("nondeterminism: same code replays fine (control)", async () => {
  const { h, b } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", 1);
    return await ctx.scheduleActivity<number>("B", a);
  };
  const { r } = await coldTurn(orch, h.events, [activityDone(b, 11)]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, "11");
});

test("nondeterminism: changed activity name", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("Renamed", 1);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has ActivityScheduled 'A' with input 1 at event 2/, /tried to schedule activity 'Renamed' with input 1/);
  assert.deepEqual(r.workerItems, []);
});

test("nondeterminism: changed activity input", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 2);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /ActivityScheduled 'A' with input 1 at event 2/, /schedule activity 'A' with input 2/);
});

test("nondeterminism: changed input of a later decision (after a completion)", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", 1);
    await ctx.scheduleActivity("B", a + 1);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /ActivityScheduled 'B' with input 10 at event 4/, /schedule activity 'B' with input 11/);
});

test("nondeterminism: changed kind at the same position (timer where history has an activity)", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(10);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has ActivityScheduled 'A' with input 1 at event 2/, /tried to create a timer/);
});

test("nondeterminism: changed kind at the same position (activity where history has a timer)", async () => {
  const h = new History();
  h.started(null);
  h.timer();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has TimerCreated at event 2/, /schedule activity 'A'/);
});

test("nondeterminism: wait for a different event name / sub-orchestration vs activity", async () => {
  const h = new History();
  h.started(null);
  h.wait("approve");
  const w = await coldTurn(async (ctx: OrchestrationContext) => ctx.waitForEvent("reject"), h.events);
  assertNondeterminism(w.r, /ExternalSubscribed 'approve'/, /wait for event 'reject'/);

  const h2 = new History();
  h2.started(null);
  h2.sub("Child", "inst-1::sub::2", 1);
  const s = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("Child", 1), h2.events);
  assertNondeterminism(s.r, /SubOrchestrationScheduled 'Child' with input 1/, /schedule activity 'Child'/);
});

test("nondeterminism: missing action while the code still waits (history has a schedule the code no longer makes)", async () => {
  const h = new History();
  h.started(null);
  h.activity("A", 1);
  h.activity("B", 2);
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1); // no longer schedules B in parallel
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has ActivityScheduled 'B' with input 2 at event 3/, /did not do that/);
});

test("nondeterminism: missing action after a completion", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", 1);
  h.activityDone(a, 1);
  h.timer();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1);
    await ctx.waitForEvent("never"); // the wait is not a decision the history has... it is: mismatch
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has TimerCreated at event 4/, /wait for event 'never'/);
});

test("nondeterminism: code that now finishes where history shows it kept going", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1);
    return "early";
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /ActivityScheduled 'B'|finished during replay/);
});

test("nondeterminism: extra action inserted before a recorded one", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", 1);
    await ctx.scheduleActivity("Audit", a);
    await ctx.scheduleActivity("B", a);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has ActivityScheduled 'B' with input 10 at event 4/, /schedule activity 'Audit' with input 10/);
});

test("extra action after the end of history is new work, not nondeterminism", async () => {
  const h = new History();
  h.started(null);
  h.activity("A", 1);
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleActivity("A", 1);
    const b = ctx.scheduleActivity("B", 2);
    return ctx.join([a, b]);
  };
  const { r } = await coldTurn(orch, h.events);
  assert.equal(r.status, "Running");
  assert.deepEqual(types(r.delta), ["ActivityScheduled"]);
  assert.equal(r.workerItems.length, 1);
});

test("nondeterminism: changed tag (.withTag) vs history", async () => {
  const { h } = historyAB({ tag: "gpu" });
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", 1).withTag("cpu");
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /history has ActivityScheduled 'A' with input 1 tagged 'gpu' at event 2/, /schedule activity 'A' with input 1 tagged 'cpu'/);
});

test("nondeterminism: tag added, and tag removed", async () => {
  const plain = historyAB();
  const added = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", 1).withTag("gpu"), plain.h.events);
  assertNondeterminism(added.r, /history has ActivityScheduled 'A' with input 1 at event 2/, /tagged 'gpu'/);
  const tagged = historyAB({ tag: "gpu" });
  const removed = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", 1), tagged.h.events);
  assertNondeterminism(removed.r, /tagged 'gpu' at event 2/, /tried to schedule activity 'A' with input 1$/);
});

test("tag via options or .withTag replays when equal", async () => {
  const { h, b } = historyAB({ tag: "gpu" });
  const viaWithTag = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", 1).withTag("gpu");
    return ctx.scheduleActivity("B", a);
  };
  const viaOptions = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", 1, { tag: "gpu" });
    return ctx.scheduleActivity("B", a);
  };
  for (const orch of [viaWithTag, viaOptions]) {
    const { r } = await coldTurn(orch, h.events, [activityDone(b, 5)]);
    assert.equal(r.status, "Completed");
    assert.equal(r.output, "5");
  }
});

test("nondeterminism: changed session id", async () => {
  const { h } = historyAB({ sessionId: "s1" });
  const other = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivityOnSession("A", 1, "s2"), h.events);
  assertNondeterminism(other.r, /ActivityScheduled 'A' with input 1 on session 's1' at event 2/, /schedule activity 'A' with input 1 on session 's2'/);
  const none = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", 1), h.events);
  assertNondeterminism(none.r, /on session 's1'/);
  const same = await coldTurn(async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivityOnSession<number>("A", 1, "s1");
    return ctx.scheduleActivity("B", a);
  }, h.events);
  assert.equal(same.r.status, "Running");
  assert.deepEqual(same.r.delta, []);
});

test("nondeterminism: the code catching the divergence error still fails the turn", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleActivity("Other", 1);
    } catch {
      return "swallowed";
    }
    return "x";
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /'A'/, /'Other'/);
});

test("nondeterminism: failure names the resource and no new work is sent", async () => {
  const { h } = historyAB();
  const orch = async (ctx: OrchestrationContext) => {
    ctx.scheduleActivity("Z", 1);
    ctx.scheduleTimer(5);
  };
  const { r } = await coldTurn(orch, h.events);
  assertNondeterminism(r, /'Z'/);
  assert.equal(r.failure?.category === "configuration" && r.failure.resource, "Orch");
  assert.deepEqual(r.workerItems, []);
  assert.deepEqual(r.orchestratorItems, []);
});

test("nondeterminism: sub-orchestration name/input and detached start instance are matched", async () => {
  const h = new History();
  h.started(null);
  h.sub("Child", "inst-1::sub::2", { a: 1 });
  const input = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestration("Child", { a: 2 }), h.events);
  assertNondeterminism(input.r, /SubOrchestrationScheduled 'Child' with input \{"a":1\}/, /start sub-orchestration 'Child' with input \{"a":2\}/);

  const d = new History();
  d.started(null);
  d.add({ type: "OrchestrationChained", name: "Job", instance: "job-1", input: "1" });
  const other = await coldTurn(async (ctx: OrchestrationContext) => ctx.startOrchestration("Job", "job-2", 1), d.events);
  assertNondeterminism(other.r, /OrchestrationChained 'Job' as 'job-1'/, /start detached orchestration 'Job' as 'job-2'/);
});

test(".withTag returns the same descriptor and exposes .tag", async () => {
  const { h } = historyAB({ tag: "gpu" });
  let seen: unknown[] = [];
  const orch = async (ctx: OrchestrationContext) => {
    const task = ctx.scheduleActivity<number>("A", 1);
    const before = task.tag;
    const same = task.withTag("gpu");
    seen = [same === task, before, task.tag];
    await task;
  };
  await coldTurn(orch, h.events);
  assert.deepEqual(seen, [true, undefined, "gpu"]);
});
