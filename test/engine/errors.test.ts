// Failures: orchestration errors, activity failures, system (non-application) failures.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { ActivityFailedError, ErrorDetails, TaskFailedError } from "../../src/model/errors.js";
import { History, activityFailed, activityFailedWith, coldTurn, failureText, firstTurn, lastEvent, types } from "./helpers.js";

test("errors: a thrown error fails the orchestration with an application OrchestrationFailed and its message", async () => {
  const { r } = await firstTurn(async () => {
    throw new Error("kaput");
  }, null);
  assert.equal(r.status, "Failed");
  assert.deepEqual(r.failure, { category: "application", kind: "OrchestrationFailed", message: "kaput", retryable: false });
  assert.equal(failureText(r), "kaput");
  assert.equal(lastEvent(r).type, "OrchestrationFailed");
  const ev = lastEvent(r);
  assert.deepEqual(ev.type === "OrchestrationFailed" && ev.details, r.failure);
});

test("errors: thrown strings and objects become messages; synchronous throws too", async () => {
  const s = await firstTurn(async () => {
    throw "plain string";
  }, null);
  assert.equal(failureText(s.r), "plain string");
  const o = await firstTurn(async () => {
    throw { code: 7 };
  }, null);
  assert.equal(failureText(o.r), '{"code":7}');
  const sync = await firstTurn(() => {
    throw new Error("sync");
  }, null);
  assert.equal(failureText(sync.r), "sync");
});

test("errors: an activity failure is thrown into the code as ActivityFailedError and can be caught", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleActivity("A", null);
      return "no";
    } catch (e) {
      return {
        isActivityErr: e instanceof ActivityFailedError,
        isTaskErr: e instanceof TaskFailedError,
        msg: (e as Error).message,
        retryable: (e as ActivityFailedError).failure.isRetryable(),
      };
    }
  };
  const { r } = await firstTurn(orch, null, [activityFailed(2, "worker said no")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { isActivityErr: true, isTaskErr: true, msg: "worker said no", retryable: false });
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled", "ActivityFailed", "OrchestrationCompleted"]);
});

test("errors: the same failure replays from history into the same catch", async () => {
  const h = new History();
  h.started(null);
  const a = h.activityFailed(h.activity("A", null), "boom");
  void a;
  const orch = async (ctx: OrchestrationContext) => {
    const r = await ctx.scheduleActivity("A", null).then(
      () => "ok",
      (e: unknown) => `caught:${(e as Error).message}`,
    );
    return ctx.scheduleActivity("B", r);
  };
  const { r } = await coldTurn(orch, h.events);
  assert.equal(r.status, "Running");
  assert.equal(r.workerItems[0]!.type === "ActivityExecute" && r.workerItems[0]!.input, '"caught:boom"');
});

test("errors: an uncaught activity failure fails the orchestration (application, message kept)", async () => {
  const { r } = await firstTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null), null, [activityFailed(2, "bad input")]);
  assert.equal(r.status, "Failed");
  assert.deepEqual(r.failure, { category: "application", kind: "OrchestrationFailed", message: "bad input", retryable: false });
});

test("errors: a poison ActivityFailed fails the orchestration with those details; the code cannot catch it", async () => {
  let caught = false;
  const orch = async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleActivity("A", null);
    } catch {
      caught = true;
      return "caught";
    }
    return "ok";
  };
  const poison = ErrorDetails.poison(6, 5, { kind: "Activity", instance: "inst-1", executionId: 1, activityName: "A", activityId: 2 }, "{}").data;
  const { r } = await firstTurn(orch, null, [activityFailedWith(2, poison)]);
  assert.equal(caught, false);
  assert.equal(r.status, "Failed");
  assert.deepEqual(r.failure, poison);
  assert.match(failureText(r), /^poison: activity A#2 exceeded 6 attempts \(max 5\)/);
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "ActivityScheduled", "ActivityFailed", "OrchestrationFailed"]);
  const ev = lastEvent(r);
  assert.deepEqual(ev.type === "OrchestrationFailed" && ev.details, poison);
});

test("errors: an infrastructure failure on a sub-orchestration fails the parent with it", async () => {
  const infra = ErrorDetails.infrastructure("store", "disk full").data;
  const { r } = await firstTurn(async (ctx: OrchestrationContext) => {
    try {
      return await ctx.scheduleSubOrchestration("Child", null);
    } catch {
      return "caught";
    }
  }, null, [{ type: "SubOrchFailed", parentInstance: "inst-1", parentExecutionId: 1, parentId: 2, details: infra }]);
  assert.equal(r.status, "Failed");
  assert.deepEqual(r.failure, infra);
});

test("errors: a non-application failure in replayed history fails the orchestration too", async () => {
  const h = new History();
  h.started(null);
  const a = h.activity("A", null);
  h.add({ type: "ActivityFailed", details: ErrorDetails.infrastructure("x", "y").data }, a);
  const { r } = await coldTurn(async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null).catch(() => "caught"), h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "infrastructure");
});

test("errors: a rejected non-durable promise inside the code is an ordinary orchestration failure", async () => {
  const { r } = await firstTurn(async () => {
    await Promise.reject(new Error("inner"));
  }, null);
  assert.equal(failureText(r), "inner");
});
