// Fetch assembly and instance reads both stores share: what a locked row holds, history decoding,
// held history, the fetched item, status rows and KV merging.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { visibleAtOf } from "../../src/providers/ackPlan.js";
import { encodeDeadLetterNotice } from "../../src/providers/deadLetterNotice.js";
import {
  canCreateInstance,
  decodeHistory,
  heldLastEventId,
  kvSnapshotOf,
  orchestrationItem,
  readActivity,
  readQueuedMessage,
} from "../../src/providers/fetchAssembly.js";
import { mergeKvValues, storedStatusOf } from "../../src/providers/instanceReads.js";
import { lockErrors, providerClosed, StoreOperations } from "../../src/providers/operations.js";
import { ProviderError } from "../../src/model/errors.js";

const external = { type: "ExternalRaised", instance: "i", name: "go", data: "1" };

describe("fetch assembly", () => {
  it("a queued row is a message, the notice of a dead letter, or unreadable", () => {
    assert.deepEqual(readQueuedMessage(JSON.stringify(external)), { kind: "message", item: external });
    const notice = { deadLetterId: 7, messageId: 3, kind: "ExternalRaised", error: "bad" };
    assert.deepEqual(readQueuedMessage(encodeDeadLetterNotice(notice)), { kind: "deadLettered", notice });
    const bad = readQueuedMessage("{not json");
    assert.equal(bad.kind, "unreadable");
    assert.match(bad.kind === "unreadable" ? bad.error : "", /not valid JSON/);
  });

  it("a worker row runs only as an ActivityExecute", () => {
    const r = readActivity(JSON.stringify(external));
    assert.deepEqual(r, { ok: false, error: "unexpected ExternalRaised in worker queue" });
    assert.equal(readActivity("[]").ok, false);
  });

  it("only a start or a continue-as-new creates an instance", () => {
    assert.equal(canCreateInstance([external as never]), false);
    assert.equal(canCreateInstance([external as never, { type: "ContinueAsNew" } as never]), true);
  });

  it("history decodes in order and a damaged row names its event, instance and execution", () => {
    const e1 = { type: "OrchestrationStarted", eventId: 1 };
    const ok = decodeHistory([{ eventId: 1, data: JSON.stringify(e1) }], "i", 2);
    assert.deepEqual(ok, { ok: true, value: [e1] });
    const bad = decodeHistory(
      [
        { eventId: 1, data: JSON.stringify(e1) },
        { eventId: "2", data: "{}" },
      ],
      "i",
      2,
    );
    assert.deepEqual(bad, { ok: false, error: "event 2 of i execution 2: history event lacks 'type' or 'eventId'" });
  });

  it("held history counts only for the same execution", () => {
    const known = new Map([["i", { executionId: 2, lastEventId: 9 }]]);
    assert.equal(heldLastEventId(known, "i", 2), 9);
    assert.equal(heldLastEventId(known, "i", 3), null);
    assert.equal(heldLastEventId(known, "j", 2), null);
    assert.equal(heldLastEventId(undefined, "i", 2), null);
  });

  it("the KV snapshot keeps keys such as __proto__ as plain data", () => {
    const kv = kvSnapshotOf([
      ["__proto__", "x", "5"],
      ["a", "b", 6],
    ]);
    assert.deepEqual(Object.keys(kv), ["__proto__", "a"]);
    assert.deepEqual(kv["__proto__"], { value: "x", lastUpdatedAtMs: 5 });
  });

  it("the item: held history, a history error, no instance row, dead letters only when there are some", () => {
    const base = { instance: "i", messages: [], deadLettered: [], kvSnapshot: {}, lockToken: "t", attemptCount: 1, moreReady: true };
    const held = orchestrationItem({ ...base, stored: { name: "O", version: "1", executionId: 3 }, history: { heldUpTo: 8 } });
    assert.equal(held.executionId, 3);
    assert.equal(held.historyAfterEventId, 8);
    assert.deepEqual(held.history, []);
    assert.equal(held.historyError, null);
    assert.equal("deadLettered" in held, false);
    assert.equal("suspended" in held, false);
    const broken = orchestrationItem({ ...base, stored: { name: "O", version: null, executionId: 1 }, history: { ok: false, error: "e" }, suspended: true });
    assert.equal(broken.historyError, "e");
    assert.equal(broken.historyAfterEventId, 0);
    assert.equal(broken.suspended, true);
    const dl = { deadLetterId: 1, messageId: 2, kind: null, error: "x" };
    const fresh = orchestrationItem({ ...base, stored: null, history: { ok: true, value: [] }, deadLettered: [dl] });
    assert.equal(fresh.orchestrationName, null);
    assert.equal(fresh.executionId, 1);
    assert.deepEqual(fresh.deadLettered, [dl]);
  });

  it("an orchestrator item is visible after its delay, a timer at its fire time, anything else now", () => {
    const timer = { type: "TimerFired", instance: "i", executionId: 1, id: 1, fireAtMs: 500 } as never;
    assert.equal(visibleAtOf(timer, 100), 500);
    assert.equal(visibleAtOf(timer, 100, 50), 150);
    assert.equal(visibleAtOf(external as never, 100, 0), 100);
  });
});

describe("instance reads and operations", () => {
  it("a status row without an execution row is Running; numbers and failures are decoded", () => {
    const s = storedStatusOf({
      orchestration_name: "O",
      orchestration_version: null,
      current_execution_id: "2",
      custom_status: null,
      custom_status_version: "4",
      parent_instance_id: null,
      suspension: JSON.stringify({ category: "application", message: "m" }),
      status: null,
      output: null,
      failure: null,
    });
    assert.equal(s.status, "Running");
    assert.equal(s.executionId, 2);
    assert.equal(s.customStatusVersion, 4);
    assert.deepEqual(s.suspension, { category: "application", message: "m" });
  });

  it("KV values: the execution's changes over the stored values, a null change clears", () => {
    const v = mergeKvValues(
      [
        { key: "a", value: "1" },
        { key: "b", value: "2" },
      ],
      [
        { key: "a", value: null },
        { key: "c", value: "3" },
      ],
    );
    assert.deepEqual(v, { b: "2", c: "3" });
  });

  it("a closed store refuses operations; driver errors are wrapped; lock errors are permanent", async () => {
    const ops = new StoreOperations((op, err) => new ProviderError(op, `wrapped: ${String(err)}`, true));
    assert.throws(() => ops.run("x", () => { throw new Error("boom"); }), /wrapped: Error: boom/);
    assert.equal(ops.close(), true);
    assert.equal(ops.close(), false);
    assert.throws(() => ops.run("x", () => 1), /provider is closed/);
    await assert.rejects(ops.runAsync("y", async () => 1), /provider is closed/);
    assert.equal(providerClosed("z").retryable, false);
    assert.equal(lockErrors.instanceExpired("ack").retryable, false);
    assert.match(lockErrors.workItemNotFound("ack").message, /work item lock not found/);
  });
});
