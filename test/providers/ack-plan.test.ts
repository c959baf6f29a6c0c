// The ack plan both stores execute: custom status and KV folding, terminal detection, visibility.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { planAck } from "../../src/providers/ackPlan.js";
import type { OrchestrationAck } from "../../src/providers/provider.js";
import type { HistoryEvent, EventKind } from "../../src/model/events.js";
import { DUROXIDE_VERSION } from "../../src/model/events.js";

let nextId = 1;
function ev(kind: EventKind, timestampMs = 1_000): HistoryEvent {
  return { eventId: nextId++, sourceEventId: null, instanceId: "i", executionId: 1, timestampMs, duroxideVersion: DUROXIDE_VERSION, ...kind } as HistoryEvent;
}
function ack(historyDelta: HistoryEvent[], extra: Partial<OrchestrationAck> = {}): OrchestrationAck {
  return {
    executionId: 1,
    historyDelta,
    workerItems: [],
    orchestratorItems: [],
    cancelledActivities: [],
    metadata: { orchestrationName: "O", orchestrationVersion: "1.0.0" },
    ...extra,
  };
}

describe("ack plan", () => {
  it("an empty turn changes nothing", () => {
    const p = planAck(ack([]), 5);
    assert.equal(p.customStatus, null);
    assert.equal(p.kvClearAllAt, null);
    assert.deepEqual(p.kvWrites, []);
    assert.equal(p.terminal, false);
    assert.deepEqual(p.changes, { status: false, customStatus: false, kv: false });
  });

  it("the last custom status of the delta wins, including a reset", () => {
    const p = planAck(ack([ev({ type: "CustomStatusUpdated", status: "a" }), ev({ type: "CustomStatusUpdated", status: null })]), 5);
    assert.deepEqual(p.customStatus, { value: null });
    assert.equal(p.changes.customStatus, true);
  });

  it("KV: each key keeps its last write; a clear-all drops earlier writes and tombstones at its time", () => {
    const p = planAck(
      ack([
        ev({ type: "KeyValueSet", key: "a", value: "1", lastUpdatedAtMs: 10 }),
        ev({ type: "KeyValueSet", key: "b", value: "1", lastUpdatedAtMs: 11 }),
        ev({ type: "KeyValuesCleared" }, 12),
        ev({ type: "KeyValueSet", key: "c", value: "1", lastUpdatedAtMs: 13 }),
        ev({ type: "KeyValueSet", key: "d", value: "1", lastUpdatedAtMs: 14 }),
        ev({ type: "KeyValueCleared", key: "c" }, 15),
        ev({ type: "KeyValueSet", key: "d", value: "2", lastUpdatedAtMs: 16 }),
      ]),
      5,
    );
    assert.equal(p.kvClearAllAt, 12);
    assert.deepEqual(p.kvWrites, [
      { key: "c", value: null, at: 15 },
      { key: "d", value: "2", at: 16 },
    ]);
    assert.equal(p.changes.kv, true);
  });

  it("terminal statuses end the execution; timers become visible at their fire time", () => {
    for (const status of ["Completed", "Failed", "ContinuedAsNew"] as const)
      assert.equal(planAck(ack([], { metadata: { orchestrationName: "O", orchestrationVersion: "1", status } }), 5).terminal, true);
    assert.equal(planAck(ack([], { metadata: { orchestrationName: "O", orchestrationVersion: "1", status: "Running" } }), 5).terminal, false);
    const p = planAck(
      ack([], {
        orchestratorItems: [
          { type: "TimerFired", instance: "i", executionId: 1, id: 2, fireAtMs: 900 },
          { type: "ExternalRaised", instance: "j", name: "e", data: "1" },
          { type: "ExternalRaised", instance: "k", name: "e", data: "1" },
        ],
      }),
      5,
    );
    assert.deepEqual(p.orchestratorItems.map((o) => o.visibleAt), [900, 5, 5]);
    assert.deepEqual(p.wakeTimes, [900, 5]);
  });
});
