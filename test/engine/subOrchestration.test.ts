// Sub-orchestrations and detached starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { SubOrchestrationFailedError } from "../../src/model/errors.js";
import { History, INSTANCE, coldTurn, firstTurn, nextTurn, subDone, subFailed, types } from "./helpers.js";

test("sub: auto child id is {parent}::sub::{eventId}; StartOrchestration carries the parent link", async () => {
  const { x, r } = await firstTurn(async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(1);
    return ctx.scheduleSubOrchestration("Child", { n: 1 });
  }, null, [{ type: "TimerFired", instance: INSTANCE, executionId: 3, id: 2, fireAtMs: 0 }], { executionId: 3 });
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "TimerCreated", "TimerFired", "SubOrchestrationScheduled"]);
  const s = r.delta[3]!;
  assert.equal(s.type === "SubOrchestrationScheduled" && s.instance, `${INSTANCE}::sub::4`);
  assert.deepEqual(r.orchestratorItems.filter((w) => w.type === "StartOrchestration"), [
    {
      type: "StartOrchestration",
      instance: `${INSTANCE}::sub::4`,
      orchestration: "Child",
      input: '{"n":1}',
      version: null,
      parent: { parentInstance: INSTANCE, parentId: 4, parentExecutionId: 3 },
      executionId: 1,
    },
  ]);
  const r2 = await nextTurn(x, [subDone(4, { child: "ok" }, 3)]);
  assert.equal(r2.status, "Completed");
  assert.equal(r2.output, '{"child":"ok"}');
  assert.deepEqual(types(r2.delta), ["SubOrchestrationCompleted", "OrchestrationCompleted"]);
  assert.equal(r2.delta[0]!.sourceEventId, 4);
});

test("sub: explicit instance id is used verbatim; versioned start carries the version", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const a = ctx.scheduleSubOrchestrationWithId("Child", "my-child", 1);
    const b = ctx.scheduleSubOrchestrationVersioned("Child", "2.0.0", 2);
    const c = ctx.scheduleSubOrchestrationVersionedWithId("Child", "3.0.0", "pinned", 3);
    return ctx.join([a, b, c]);
  };
  const { x, r } = await firstTurn(orch, null);
  const starts = r.orchestratorItems.map((w) => (w.type === "StartOrchestration" ? [w.instance, w.version, w.parent?.parentId] : null));
  assert.deepEqual(starts, [
    ["my-child", null, 2],
    [`${INSTANCE}::sub::3`, "2.0.0", 3],
    ["pinned", "3.0.0", 4],
  ]);
  const ev = r.delta[2]!;
  assert.equal(ev.type === "SubOrchestrationScheduled" && ev.version, "2.0.0");
  const r2 = await nextTurn(x, [subDone(4, "c"), subDone(2, "a"), subDone(3, "b")]);
  assert.equal(r2.output, '["a","b","c"]');
});

test("sub: completion for the wrong parent execution is dropped", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestration("Child", null);
  const { x } = await firstTurn(orch, null);
  const r2 = await nextTurn(x, [subDone(2, "stale", 9), subDone(99, "unknown")]);
  assert.equal(r2.status, "Running");
  assert.deepEqual(r2.delta, []);
});

test("sub: SubOrchestrationFailed becomes a catchable SubOrchestrationFailedError", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleSubOrchestration("Child", null);
      return "no";
    } catch (e) {
      return { isSubErr: e instanceof SubOrchestrationFailedError, message: (e as Error).message, cat: (e as SubOrchestrationFailedError).category() };
    }
  };
  const { r } = await firstTurn(orch, null, [subFailed(2, "child blew up")]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { isSubErr: true, message: "child blew up", cat: "application" });
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "SubOrchestrationScheduled", "SubOrchestrationFailed", "OrchestrationCompleted"]);
});

test("sub: an uncaught child failure fails the parent with an application error", async () => {
  const orch = async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestration("Child", null);
  const { r } = await firstTurn(orch, null, [subFailed(2, "child blew up")]);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "application");
  assert.equal(r.failure?.category === "application" && r.failure.message, "child blew up");
});

test("sub: replay of scheduled/completed/failed children from history", async () => {
  const h = new History();
  h.started(null);
  const a = h.sub("Child", `${INSTANCE}::sub::2`, 1);
  h.subDone(a, 10);
  const b = h.sub("Child", "explicit", 2);
  h.subFailed(b, "nope");
  const c = h.sub("Child", `${INSTANCE}::sub::6`, 3);
  const orch = async (ctx: OrchestrationContext) => {
    const x = await ctx.scheduleSubOrchestration<number>("Child", 1);
    const y = await ctx.scheduleSubOrchestrationWithId("Child", "explicit", 2).then(
      () => "ok",
      (e: unknown) => `caught ${(e as Error).message}`,
    );
    const z = await ctx.scheduleSubOrchestration<number>("Child", 3);
    return [x, y, z];
  };
  const { r } = await coldTurn(orch, h.events, [subDone(c, 30)]);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, '[10,"caught nope",30]');
  assert.deepEqual(r.orchestratorItems, []);
});

test("sub: child instance id is not part of matching (history keeps its own id)", async () => {
  const h = new History();
  h.started(null);
  const a = h.sub("Child", "old-style-id", 1);
  const orch = async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestration("Child", 1);
  const { r } = await coldTurn(orch, h.events, [subDone(a, "x")]);
  assert.equal(r.status, "Completed");
});

test("sub: a child execution reports completion and failure to its parent execution", async () => {
  const parent = { parentInstance: "parent-1", parentId: 7, parentExecutionId: 4 };
  const ok = await firstTurn(async () => "child result", null, [], { parent });
  const s = ok.r.delta[0]!;
  assert.equal(s.type === "OrchestrationStarted" && s.parentInstance, "parent-1");
  assert.equal(s.type === "OrchestrationStarted" && s.parentId, 7);
  assert.equal(s.type === "OrchestrationStarted" && s.parentExecutionId, 4);
  assert.deepEqual(ok.r.orchestratorItems, [{ type: "SubOrchCompleted", ...parent, result: '"child result"' }]);
  const bad = await firstTurn(async () => {
    throw new Error("child failed");
  }, null, [], { parent });
  assert.deepEqual(bad.r.orchestratorItems, [
    { type: "SubOrchFailed", ...parent, details: { category: "application", kind: "OrchestrationFailed", message: "child failed", retryable: false } },
  ]);
  const none = await firstTurn(async () => "x", null);
  assert.deepEqual(none.r.orchestratorItems, []);
});

test("detached: startOrchestration records OrchestrationChained and a StartOrchestration with no parent", async () => {
  const orch = async (ctx: OrchestrationContext) => {
    const v = await ctx.startOrchestration("Job", "job-1", { k: 1 });
    await ctx.startOrchestrationVersioned("Job", "2.0.0", "job-2", null);
    return v;
  };
  const { r } = await firstTurn(orch, null);
  assert.equal(r.status, "Completed");
  assert.equal(r.output, "null");
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "OrchestrationChained", "OrchestrationChained", "OrchestrationCompleted"]);
  const c = r.delta[1]!;
  assert.equal(c.type === "OrchestrationChained" && c.instance, "job-1");
  assert.deepEqual(r.orchestratorItems, [
    { type: "StartOrchestration", instance: "job-1", orchestration: "Job", input: '{"k":1}', version: null, parent: null, executionId: 1 },
    { type: "StartOrchestration", instance: "job-2", orchestration: "Job", input: "null", version: "2.0.0", parent: null, executionId: 1 },
  ]);
});

test("detached: replay matches OrchestrationChained and sends nothing again", async () => {
  const h = new History();
  h.started(null);
  h.add({ type: "OrchestrationChained", name: "Job", instance: "job-1", input: "1" });
  const a = h.activity("A", null);
  const orch = async (ctx: OrchestrationContext) => {
    await ctx.startOrchestration("Job", "job-1", 1);
    return ctx.scheduleActivity("A", null);
  };
  const { r } = await coldTurn(orch, h.events, [{ type: "ActivityCompleted", instance: INSTANCE, executionId: 1, id: a, result: "5" }]);
  assert.equal(r.status, "Completed");
  assert.deepEqual(r.orchestratorItems, []);
});
