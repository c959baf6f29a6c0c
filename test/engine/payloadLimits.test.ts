// The per-execution history limit, on synthetic turns: a new decision that would take the history
// past it throws at the call (the code can catch it and continue as new); results that arrive and
// take it past the limit end the execution with a clear failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import { MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION, MAX_PAYLOAD_BYTES } from "../../src/model/payload.js";
import { PayloadTooLargeError } from "../../src/model/errors.js";
import { activityDone, failureText, firstTurn, nextTurn, types } from "./helpers.js";

const big = "x".repeat(MAX_PAYLOAD_BYTES - 16);
const perExecution = Math.floor(MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION / MAX_PAYLOAD_BYTES);

test("payload limits: a decision past the history limit throws at the call, before it is recorded", async () => {
  let caught: unknown = null;
  let scheduled = 0;
  const { r } = await firstTurn(async (ctx: OrchestrationContext) => {
    try {
      for (;;) {
        void ctx.scheduleActivity("A", big);
        scheduled++;
      }
    } catch (err) {
      caught = err;
    }
    return ctx.continueAsNew("fresh");
  }, null);
  assert.ok(caught instanceof PayloadTooLargeError, String(caught));
  assert.equal(caught.limitBytes, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION);
  assert.match(caught.message, /history of execution 1 .*continue as new.* is \d+ bytes, over the limit/);
  assert.ok(scheduled >= perExecution - 1 && scheduled <= perExecution, `${scheduled} scheduled`);
  assert.equal(r.status, "ContinuedAsNew");
  assert.equal(types(r.delta).filter((t) => t === "ActivityScheduled").length, scheduled);
});

test("payload limits: results that take the history past the limit fail the execution clearly", async () => {
  const n = perExecution + 2;
  const { x, r } = await firstTurn(async (ctx: OrchestrationContext) => {
    const fs = Array.from({ length: n }, (_, i) => ctx.scheduleActivity("A", i));
    await ctx.join(fs);
    return ctx.waitForEvent("go");
  }, null);
  assert.equal(r.status, "Running");
  const results = Array.from({ length: n }, (_, i) => activityDone(i + 2, big));
  const r2 = await nextTurn(x, results);
  assert.equal(r2.status, "Failed");
  assert.match(failureText(r2), /the history of execution 1 of 'inst-1' is \d+ bytes, over the limit of \d+ bytes/);
});
