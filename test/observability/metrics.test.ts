import { test } from "node:test";
import assert from "node:assert/strict";

import { Histogram, METRIC_NAMES, RuntimeMetrics, classifyProviderError } from "../../src/observability/index.js";
import type { Labels, MetricsSink, MetricsSnapshot } from "../../src/observability/index.js";

type Call = { kind: "counter" | "histogram" | "gauge"; name: string; value: number; labels: Labels | undefined };

class RecordingSink implements MetricsSink {
  calls: Call[] = [];
  counter(name: string, value: number, labels?: Labels): void {
    this.calls.push({ kind: "counter", name, value, labels });
  }
  histogram(name: string, value: number, labels?: Labels): void {
    this.calls.push({ kind: "histogram", name, value, labels });
  }
  gauge(name: string, value: number, labels?: Labels): void {
    this.calls.push({ kind: "gauge", name, value, labels });
  }
  named(name: string): Call[] {
    return this.calls.filter((c) => c.name === name);
  }
}

const EXPECTED_KEYS = [
  "orchStarts",
  "orchCompletions",
  "orchFailures",
  "orchApplicationErrors",
  "orchInfrastructureErrors",
  "orchConfigurationErrors",
  "orchPoison",
  "activitySuccess",
  "activityAppErrors",
  "activityInfraErrors",
  "activityConfigErrors",
  "activityPoison",
  "orchDispatcherItemsFetched",
  "workerDispatcherItemsFetched",
  "orchContinueAsNew",
  "suborchestrationCalls",
  "providerErrors",
  "turnDurationMs",
  "activityDurationMs",
  // Ours, beyond duroxide-node's set: a gauge of activities past slowActivityWarningMs.
  "activitiesStuck",
].sort();

test("fresh snapshot has exactly the duroxide-node field names (plus activitiesStuck), all zero", () => {
  const snap = new RuntimeMetrics().snapshot();
  assert.deepEqual(Object.keys(snap).sort(), EXPECTED_KEYS);
  for (const [k, v] of Object.entries(snap)) {
    if (typeof v === "number") assert.equal(v, 0, k);
  }
  assert.deepEqual(snap.turnDurationMs, { count: 0, sum: 0, p50: 0, p99: 0, max: 0 });
  assert.deepEqual(snap.activityDurationMs, { count: 0, sum: 0, p50: 0, p99: 0, max: 0 });
});

test("each event is counted exactly once", () => {
  const m = new RuntimeMetrics();
  // Two client starts; one continues as new once, then completes; the other fails.
  m.orchestrationStarted("Order");
  m.orchestrationStarted("Order");
  for (let turn = 0; turn < 5; turn++) m.turnDuration("Order", 2);
  m.continuedAsNew("Order");
  m.orchestrationStarted("Order", { initiatedBy: "continueAsNew" });
  m.orchestrationCompleted("Order", 40);
  m.orchestrationFailed("Order", "application");
  // Failure categories.
  m.orchestrationStarted("X");
  m.orchestrationFailed("X", "infrastructure");
  m.orchestrationStarted("X");
  m.orchestrationFailed("X", "configuration");
  m.orchestrationStarted("X");
  m.orchestrationPoisoned("X");
  m.orchestrationFailed("X", "poison");
  // Activities.
  m.activitySucceeded("A", 10);
  m.activitySucceeded("A", 20);
  m.activitySucceeded("A", 30);
  m.activityFailed("A", "application", 5);
  m.activityFailed("A", "infrastructure", 5);
  m.activityFailed("A", "configuration", 5);
  m.activityPoisoned("A");
  m.activityCancelled("A", 1);
  // Misc.
  m.subOrchestrationCalled("Order", "Payment");
  m.orchItemsFetched(3);
  m.orchItemsFetched(0);
  m.workerItemsFetched(2);
  m.workerItemsFetched(2);
  m.providerError("fetch_work_item");
  m.providerError("ack_orchestration_item", "deadlock");

  const s: MetricsSnapshot = m.snapshot();
  const { turnDurationMs, activityDurationMs, activitiesStuck, ...counters } = s;
  assert.equal(activitiesStuck, 0);
  assert.deepEqual(counters, {
    orchStarts: 6,
    orchCompletions: 1,
    orchFailures: 4,
    orchApplicationErrors: 1,
    orchInfrastructureErrors: 1,
    orchConfigurationErrors: 1,
    orchPoison: 1,
    activitySuccess: 3,
    activityAppErrors: 1,
    activityInfraErrors: 1,
    activityConfigErrors: 1,
    activityPoison: 1,
    orchDispatcherItemsFetched: 3,
    workerDispatcherItemsFetched: 4,
    orchContinueAsNew: 1,
    suborchestrationCalls: 1,
    providerErrors: 2,
  });
  // starts = completions + failures + continue-as-new + in flight (0 here)
  assert.equal(s.orchStarts, s.orchCompletions + s.orchFailures + s.orchContinueAsNew);
  assert.equal(turnDurationMs.count, 5);
  assert.equal(turnDurationMs.sum, 10);
  // 3 successes + 3 failures + 1 cancelled; poison never ran.
  assert.equal(activityDurationMs.count, 7);
  assert.equal(activityDurationMs.sum, 76);
  assert.equal(activityDurationMs.max, 30);

  // Snapshots are copies.
  s.orchStarts = 999;
  s.turnDurationMs.count = 999;
  assert.equal(m.snapshot().orchStarts, 6);
  assert.equal(m.snapshot().turnDurationMs.count, 5);

  m.reset();
  assert.equal(m.snapshot().orchStarts, 0);
  assert.equal(m.snapshot().activityDurationMs.count, 0);
});

test("histogram summaries: count, sum, max exact; p50/p99 within bucket resolution", () => {
  const h = new Histogram();
  for (let i = 1; i <= 1000; i++) h.record(i);
  const s = h.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.sum, 500500);
  assert.equal(s.max, 1000);
  assert.ok(Math.abs(s.p50 - 500) / 500 < 0.05, `p50=${s.p50}`);
  assert.ok(Math.abs(s.p99 - 990) / 990 < 0.05, `p99=${s.p99}`);

  const one = new Histogram();
  one.record(42.5);
  assert.deepEqual(one.summary(), { count: 1, sum: 42.5, p50: 42.5, p99: 42.5, max: 42.5 });

  const skew = new Histogram();
  for (let i = 0; i < 99; i++) skew.record(1);
  skew.record(5000);
  const ss = skew.summary();
  assert.equal(ss.p50, 1);
  assert.ok(ss.p99 <= 1.1, `p99=${ss.p99}`);
  assert.equal(ss.max, 5000);

  const edge = new Histogram();
  edge.record(0);
  edge.record(-3); // clamped to 0
  edge.record(Number.NaN); // ignored
  edge.record(1e-9);
  edge.record(1e15); // beyond the last bucket
  const es = edge.summary();
  assert.equal(es.count, 4);
  assert.equal(es.max, 1e15);
  assert.equal(es.p50, 0);
  assert.ok(es.p99 <= 1e15 && es.p99 > 0);
});

test("histogram memory is bounded (fixed buckets)", () => {
  const h = new Histogram();
  for (let i = 0; i < 200_000; i++) h.record((i % 997) * 1.37);
  const s = h.summary();
  assert.equal(s.count, 200_000);
  assert.ok(s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max);
  // Internal state is a fixed-size typed array; no per-sample storage.
  const buckets = (h as unknown as { buckets: Float64Array }).buckets;
  assert.ok(buckets instanceof Float64Array && buckets.length < 1000);
});

test("extra sinks receive duroxide_* metrics with labels, once per event", () => {
  const sink = new RecordingSink();
  const early = new RecordingSink();
  const m = new RuntimeMetrics([early]);
  const remove = m.addSink(sink);

  m.orchestrationStarted("Order", { version: "1.0.0" });
  m.turnDuration("Order", 250);
  m.orchestrationCompleted("Order", 1500, { version: "1.0.0", turnCount: 7, historySize: 12 });
  m.orchestrationFailed("Order", "infrastructure");
  m.continuedAsNew("Order");
  m.activitySucceeded("Greet", 100, { tag: "gpu" });
  m.activityFailed("Greet", "application", 50);
  m.activityPoisoned("Greet");
  m.orchestrationPoisoned("Order");
  m.subOrchestrationCalled("Order", "Pay");
  m.providerError("fetch_orchestration_item", "timeout");
  m.orchItemsFetched(4);
  m.workerItemsFetched(1);
  m.activeOrchestrations(3);
  m.queueDepths(5, 6);

  assert.deepEqual(sink.named(METRIC_NAMES.orchestrationStarts), [
    {
      kind: "counter",
      name: "duroxide_orchestration_starts_total",
      value: 1,
      labels: { orchestration_name: "Order", initiated_by: "client", version: "1.0.0" },
    },
  ]);
  assert.deepEqual(sink.named("duroxide_orchestration_turn_duration_seconds"), [
    { kind: "histogram", name: "duroxide_orchestration_turn_duration_seconds", value: 0.25, labels: { orchestration_name: "Order" } },
  ]);
  const completions = sink.named("duroxide_orchestration_completions_total");
  assert.deepEqual(
    completions.map((c) => c.labels?.["status"]),
    ["success", "failed", "continuedAsNew"],
  );
  assert.equal(completions[0]!.labels?.["final_turn_count"], "6-10");
  assert.deepEqual(sink.named("duroxide_orchestration_duration_seconds").map((c) => c.value), [1.5]);
  assert.deepEqual(sink.named("duroxide_orchestration_turns").map((c) => c.value), [7]);
  assert.deepEqual(sink.named("duroxide_orchestration_history_size").map((c) => c.value), [12]);
  assert.deepEqual(sink.named("duroxide_orchestration_failures_total")[0]!.labels, {
    orchestration_name: "Order",
    error_type: "infrastructure_error",
    error_category: "infrastructure",
  });
  assert.equal(sink.named("duroxide_orchestration_infrastructure_errors_total").length, 1);
  assert.equal(sink.named("duroxide_orchestration_continue_as_new_total").length, 1);
  assert.deepEqual(
    sink.named("duroxide_activity_executions_total").map((c) => c.labels),
    [
      { activity_name: "Greet", outcome: "success", tag: "gpu" },
      { activity_name: "Greet", outcome: "app_error" },
    ],
  );
  assert.deepEqual(sink.named("duroxide_activity_duration_seconds").map((c) => c.value), [0.1, 0.05]);
  assert.equal(sink.named("duroxide_activity_poison_total").length, 1);
  assert.equal(sink.named("duroxide_orchestration_poison_total").length, 1);
  assert.deepEqual(sink.named("duroxide_suborchestration_calls_total")[0]!.labels, {
    parent_orchestration: "Order",
    child_orchestration: "Pay",
  });
  assert.deepEqual(sink.named("duroxide_provider_errors_total")[0]!.labels, {
    operation: "fetch_orchestration_item",
    error_type: "timeout",
  });
  assert.deepEqual(sink.named("duroxide_orchestration_dispatcher_items_fetched").map((c) => c.value), [4]);
  assert.deepEqual(sink.named("duroxide_worker_dispatcher_items_fetched").map((c) => c.value), [1]);
  assert.deepEqual(
    sink.calls.filter((c) => c.kind === "gauge").map((c) => [c.name, c.value]),
    [
      ["duroxide_active_orchestrations", 3],
      ["duroxide_orchestrator_queue_depth", 5],
      ["duroxide_worker_queue_depth", 6],
    ],
  );
  // The constructor-provided sink saw the same stream.
  assert.deepEqual(early.calls, sink.calls);

  // Removal stops delivery; in-memory counters keep going.
  remove();
  m.orchestrationStarted("Order");
  assert.equal(sink.named(METRIC_NAMES.orchestrationStarts).length, 1);
  assert.equal(early.named(METRIC_NAMES.orchestrationStarts).length, 2);
  assert.equal(m.snapshot().orchStarts, 2);
});

test("a throwing sink never breaks counting or other sinks", () => {
  const good = new RecordingSink();
  const bad: MetricsSink = {
    counter() {
      throw new Error("exporter down");
    },
    histogram() {
      throw new Error("exporter down");
    },
    gauge() {
      throw new Error("exporter down");
    },
  };
  const m = new RuntimeMetrics([bad, good]);
  assert.doesNotThrow(() => {
    m.orchestrationStarted("O");
    m.activitySucceeded("A", 1);
    m.activeOrchestrations(1);
  });
  assert.equal(m.snapshot().orchStarts, 1);
  assert.equal(m.snapshot().activitySuccess, 1);
  assert.equal(good.calls.length, 4);
});

test("classifyProviderError", () => {
  assert.equal(classifyProviderError("database is deadlocked"), "deadlock");
  assert.equal(classifyProviderError("(code: 5) database is locked"), "deadlock");
  assert.equal(classifyProviderError("Operation timed out"), "timeout");
  assert.equal(classifyProviderError("connection refused"), "connection");
  assert.equal(classifyProviderError("constraint failed"), "other");
});
