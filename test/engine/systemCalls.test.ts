// newGuid / utcNow: recorded as SystemCall events, returned unchanged on replay.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { History, activityDone, coldTurn, firstTurn, types } from "./helpers.js";

const orch = async (ctx: OrchestrationContext) => {
  const g = await ctx.newGuid();
  const t = await ctx.utcNow();
  const r = await ctx.scheduleActivity<string>("Use", { g, t });
  return { g, t, r };
};

test("system calls: recorded as SystemCall events without work items", async () => {
  const { r } = await firstTurn(orch, null, [], { clock: () => 123_456, newGuid: () => "guid-live" });
  assert.deepEqual(types(r.delta), ["OrchestrationStarted", "SystemCall", "SystemCall", "ActivityScheduled"]);
  const [, g, t, a] = r.delta;
  assert.equal(g!.type === "SystemCall" && g!.op, "newGuid");
  assert.equal(g!.type === "SystemCall" && g!.value, "guid-live");
  assert.equal(t!.type === "SystemCall" && t!.op, "utcNow");
  assert.equal(t!.type === "SystemCall" && t!.value, "123456");
  assert.equal(a!.type === "ActivityScheduled" && a!.input, '{"g":"guid-live","t":123456}');
  assert.equal(r.workerItems.length, 1);
  assert.deepEqual(r.orchestratorItems, []);
});

test("system calls: replay returns the recorded values, not the replaying side's clock or guid source", async () => {
  const live = await firstTurn(orch, null, [], { clock: () => 123_456, newGuid: () => "guid-live" });
  let guidCalls = 0;
  const { r } = await coldTurn(orch, live.r.delta, [activityDone(4, "used")], {
    clock: () => 999_999_999,
    newGuid: () => {
      guidCalls++;
      return "guid-replay";
    },
  });
  assert.equal(r.status, "Completed");
  assert.deepEqual(JSON.parse(r.output!), { g: "guid-live", t: 123456, r: "used" });
  assert.equal(guidCalls, 0);
});

test("system calls: synthetic history values are returned verbatim; utcNow is a number", async () => {
  const h = new History();
  h.started(null);
  h.systemCall("newGuid", "00000000-aaaa");
  h.systemCall("utcNow", "1700000000000");
  const a = h.activity("Use", { g: "00000000-aaaa", t: 1700000000000 });
  const { r } = await coldTurn(orch, h.events, [activityDone(a, "x")]);
  assert.equal(r.status, "Completed");
  const out = JSON.parse(r.output!);
  assert.equal(out.g, "00000000-aaaa");
  assert.equal(out.t, 1700000000000);
  assert.equal(typeof out.t, "number");
});

test("system calls: swapping the order of newGuid and utcNow is nondeterminism", async () => {
  const h = new History();
  h.started(null);
  h.systemCall("newGuid", "g");
  h.systemCall("utcNow", "1");
  const swapped = async (ctx: OrchestrationContext) => {
    await ctx.utcNow();
    await ctx.newGuid();
  };
  const { r } = await coldTurn(swapped, h.events);
  assert.equal(r.status, "Failed");
  assert.equal(r.failure?.category, "configuration");
  assert.match(JSON.stringify(r.failure), /SystemCall newGuid\(\) at event 2.*call utcNow\(\)/);
});

test("system calls: default guid source yields distinct values; several calls in one turn", async () => {
  const many = async (ctx: OrchestrationContext) => {
    const gs = [await ctx.newGuid(), await ctx.newGuid(), await ctx.newGuid()];
    return gs;
  };
  const { r } = await firstTurn(many, null);
  const gs = JSON.parse(r.output!) as string[];
  assert.equal(new Set(gs).size, 3);
});
