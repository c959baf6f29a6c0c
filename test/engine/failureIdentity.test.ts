// Engine-level failure identity and patch markers: a history written before error identity
// existed still replays (a plain ActivityFailedError), identity fields replay exactly as stored,
// and ctx.patched follows the decision recorded at its position.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ActivityFailedError, type HistoryEvent, type OrchestrationContext, type WorkItem } from "../../src/index.js";
import { coldTurn, firstTurn, INSTANCE } from "./helpers.js";

function failedMsg(id: number, details: object): WorkItem {
  return { type: "ActivityFailed", instance: INSTANCE, executionId: 1, id, details: details as never };
}

const catching = async (ctx: OrchestrationContext): Promise<unknown> => {
  try {
    await ctx.scheduleActivity("Charge", null);
    return null;
  } catch (e) {
    const err = e as ActivityFailedError;
    return { isActivityFailed: err instanceof ActivityFailedError, name: err.name, code: err.code, message: err.message, details: err.details ?? null, attempt: err.attempt ?? null };
  }
};

describe("failure identity in the engine", () => {
  it("an old-shape ActivityFailed (message only) still replays: a plain ActivityFailedError", async () => {
    const old = { category: "application", kind: "ActivityFailed", message: "card declined", retryable: false };
    const live = await firstTurn(catching, null);
    const history: HistoryEvent[] = [...live.r.delta];
    const second = await coldTurn(catching, history, [failedMsg(2, old)]);
    assert.equal(second.r.status, "Completed");
    const expected = { isActivityFailed: true, name: "ActivityFailedError", code: "ActivityFailed", message: "card declined", details: null, attempt: null };
    assert.deepEqual(JSON.parse(second.r.output!), expected);
  });

  it("identity fields replay exactly as stored", async () => {
    const details = {
      category: "application",
      kind: "ActivityFailed",
      message: "card declined",
      retryable: false,
      errorName: "CardDeclinedError",
      code: "card_declined",
      details: { reason: "stolen" },
      activityName: "Charge",
      attempt: 2,
    };
    const live = await firstTurn(catching, null);
    const second = await coldTurn(catching, [...live.r.delta], [failedMsg(2, details)]);
    const expected = { isActivityFailed: true, name: "CardDeclinedError", code: "card_declined", message: "card declined", details: { reason: "stolen" }, attempt: 2 };
    assert.deepEqual(JSON.parse(second.r.output!), expected);
    const failed = second.r.delta.find((e) => e.type === "ActivityFailed");
    assert.deepEqual(failed && failed.type === "ActivityFailed" ? failed.details : null, details, "stored unchanged in history");
  });

  it("an escaping typed error fails the orchestration with its identity (for a parent to read)", async () => {
    const h = async (ctx: OrchestrationContext): Promise<unknown> => ctx.scheduleActivity("Charge", null);
    const live = await firstTurn(h, null);
    const r = await coldTurn(h, [...live.r.delta], [
      failedMsg(2, { category: "application", kind: "ActivityFailed", message: "no", retryable: false, errorName: "CardDeclinedError", code: "card_declined", details: [1] }),
    ]);
    assert.equal(r.r.status, "Failed");
    assert.deepEqual(r.r.failure, {
      category: "application",
      kind: "OrchestrationFailed",
      message: "no",
      retryable: false,
      errorName: "CardDeclinedError",
      code: "card_declined",
      details: [1],
    });
  });
});

describe("ctx.patched in the engine", () => {
  const code = (withPatch: boolean) => async (ctx: OrchestrationContext): Promise<unknown> => {
    const path = withPatch && ctx.patched("p1") ? "new" : "old";
    await ctx.scheduleActivity(path === "new" ? "B" : "A", null);
    return path;
  };

  it("live: records a PatchMarker before the new path's decisions", async () => {
    const { r } = await firstTurn(code(true), null);
    assert.deepEqual(
      r.delta.map((e) => (e.type === "PatchMarker" ? `marker:${e.patchId}` : e.type === "ActivityScheduled" ? `act:${e.name}` : e.type)),
      ["OrchestrationStarted", "marker:p1", "act:B"],
    );
  });

  it("replaying a history written without the patch returns false; with the marker, true", async () => {
    const old = await firstTurn(code(false), null);
    const oldDone = await coldTurn(code(true), [...old.r.delta], [{ type: "ActivityCompleted", instance: INSTANCE, executionId: 1, id: 2, result: "1" }]);
    assert.equal(oldDone.r.status, "Completed");
    assert.equal(oldDone.r.output, '"old"');
    const fresh = await firstTurn(code(true), null);
    const freshDone = await coldTurn(code(true), [...fresh.r.delta], [{ type: "ActivityCompleted", instance: INSTANCE, executionId: 1, id: 3, result: "1" }]);
    assert.equal(freshDone.r.output, '"new"');
  });

  it("a patch id must be a non-empty string", async () => {
    const { r } = await firstTurn(async (ctx: OrchestrationContext) => ctx.patched(""), null);
    assert.equal(r.status, "Failed");
    assert.match(r.failure && r.failure.category === "application" ? r.failure.message : "", /patch id/);
  });
});
