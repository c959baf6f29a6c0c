// Awaiting non-durable promises (setTimeout, fetch, ...) is detected as a determinism error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { activityDone, failureText, firstTurn, lastEvent, nextTurn } from "./helpers.js";

test("out of turn: a decision made after a real setTimeout fails the next turn with a clear determinism error", async () => {
  // A non-durable promise the test settles between turns (a real timer could fire inside a slow
  // turn on a loaded machine and make the test flaky).
  let wake!: () => void;
  const nonDurable = new Promise<void>((r) => (wake = r));
  const orch = async (ctx: OrchestrationContext) => {
    const keep = ctx.scheduleActivity("Keep", null); // open durable work keeps the turn 'Running'
    await ctx.scheduleActivity("A", null);
    await nonDurable;
    await ctx.scheduleActivity("B", null);
    return keep;
  };
  const { x } = await firstTurn(orch, null);
  const r2 = await nextTurn(x, [activityDone(3, "a")]);
  assert.equal(r2.status, "Running");
  assert.deepEqual(r2.workerItems, []);
  wake(); // the code wakes up between turns
  await sleep(5);
  const r3 = await nextTurn(x, []);
  assert.equal(r3.status, "Failed");
  assert.equal(r3.failure?.category, "configuration");
  const msg = failureText(r3);
  assert.match(msg, /^nondeterministic: /);
  assert.match(msg, /schedule activity 'B'/);
  assert.match(msg, /outside of a turn/);
  assert.match(msg, /setTimeout/);
  assert.equal(lastEvent(r3).type, "OrchestrationFailed");
  assert.ok(!r3.delta.some((e) => e.type === "ActivityScheduled"));
});

test("out of turn: finishing after a real setTimeout fails the next turn", async () => {
  let wake!: () => void;
  const nonDurable = new Promise<void>((r) => (wake = r));
  const orch = async (ctx: OrchestrationContext) => {
    ctx.scheduleActivity("Keep", null);
    await ctx.scheduleActivity("A", null);
    await nonDurable;
    return "late";
  };
  const { x } = await firstTurn(orch, null);
  await nextTurn(x, [activityDone(3, "a")]);
  wake();
  await sleep(5);
  const r3 = await nextTurn(x, [activityDone(2, "keep")]);
  assert.equal(r3.status, "Failed");
  assert.equal(r3.failure?.category, "configuration");
  assert.match(failureText(r3), /finished outside of a turn/);
});

test("out of turn: awaiting a promise that never settles, with no durable work open, fails at once", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("A", null);
    await new Promise(() => {});
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [activityDone(2, "a")]);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(failureText(r), /not a durable task/);
});

test("out of turn: already-resolved plain promises inside a turn are fine", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<number>("A", null);
    const b = await Promise.resolve(a + 1);
    const c = await Promise.all([Promise.resolve(b), (async () => b * 2)()]);
    return ctx.scheduleActivity("B", c);
  };
  const { x } = await firstTurn(orch, null);
  const r = await nextTurn(x, [activityDone(2, 1)]);
  assert.equal(r.status, "Running");
  assert.equal(r.workerItems[0]!.type === "ActivityExecute" && r.workerItems[0]!.input, "[2,4]");
});
