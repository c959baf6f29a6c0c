// One Ending value: which ending stands, and what each one writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { laterEnding, terminationOf, type Ending } from "../../src/orchestration/ending.js";
import { ErrorDetails } from "../../src/model/errors.js";

const completed: Ending = { kind: "completed", output: "1" };
const cancelled: Ending = { kind: "cancelled", reason: "stop" };
const broken: Ending = { kind: "broken", details: ErrorDetails.nondeterminism("diverged", "Orch") };
const broken2: Ending = { kind: "broken", details: ErrorDetails.nondeterminism("later", "Orch") };

test("laterEnding: the first ending stands, except that a broken execution overrides any other", () => {
  assert.equal(laterEnding(null, completed), completed);
  assert.equal(laterEnding(completed, cancelled), completed);
  assert.equal(laterEnding(cancelled, completed), cancelled);
  assert.equal(laterEnding(completed, broken), broken);
  assert.equal(laterEnding(cancelled, broken), broken);
  assert.equal(laterEnding(broken, broken2), broken);
  assert.equal(laterEnding(broken, completed), broken);
});

test("terminationOf: terminal event, status, parent report and cancel reasons per ending", () => {
  const c = terminationOf(completed);
  assert.deepEqual([c.terminal, c.status, c.output, c.report], [{ type: "OrchestrationCompleted", output: "1" }, "Completed", "1", { ok: true, result: "1" }]);

  const can = terminationOf({ kind: "continuedAsNew", input: "2", version: null });
  assert.deepEqual([can.terminal.type, can.status, can.output, can.report], ["OrchestrationContinuedAsNew", "ContinuedAsNew", "2", null]);
  assert.equal(can.activityReason, "orchestration_terminal_continued_as_new");

  const x = terminationOf(cancelled);
  assert.equal(x.status, "Failed");
  assert.equal(x.childReason, "parent canceled");
  assert.equal(x.dropsDetachedStarts, true);
  assert.deepEqual(x.report, { ok: false, details: x.failure });

  const b = terminationOf(broken);
  assert.equal(b.failure?.category, "configuration");
  assert.equal(b.dropsDetachedStarts, false);
  assert.equal(b.childReason, "parent dropped sub-orchestration future");
});
