/**
 * Runtime metrics: exact in-memory counters for `metricsSnapshot()` plus a tiny sink interface
 * through which exporters (Prometheus, OpenTelemetry, StatsD, ...) plug in without touching the engine.
 *
 * Counting rules (each event is counted exactly once; see duroxide-semantics.md §6.2):
 * - `orchStarts`: executions started, i.e. one per `orchestrationStarted` call. The runtime calls it
 *   once when an execution begins (client start or continue-as-new), never per turn.
 * - Terminal outcomes of an execution: `orchCompletions` (completed), `orchFailures` (failed, any
 *   category), `orchContinueAsNew` (ended by continue-as-new). So
 *   `orchStarts = orchCompletions + orchFailures + orchContinueAsNew + executions in flight`.
 * - `orchPoison` / `activityPoison` count poisoned *items* (`orchestrationPoisoned` /
 *   `activityPoisoned`). A poisoned orchestration also fails: report that separately with
 *   `orchestrationFailed(name, 'poison')`, which bumps `orchFailures` only.
 * - Activity outcomes: one of `activitySucceeded` / `activityFailed` per execution; both also
 *   record the activity duration, so do not call `activityDuration` for the same execution.
 */

export type Labels = Record<string, string>;

/** Exporter hook. Values for `*_seconds` metrics are in seconds; counters are increments. */
export interface MetricsSink {
  counter(name: string, value: number, labels?: Labels): void;
  histogram(name: string, value: number, labels?: Labels): void;
  gauge(name: string, value: number, labels?: Labels): void;
}

export type OrchestrationFailureCategory = "application" | "infrastructure" | "configuration" | "poison";
export type ActivityFailureCategory = "application" | "infrastructure" | "configuration";
export type ProviderErrorType = "deadlock" | "timeout" | "connection" | "other";

export interface HistogramSummary {
  count: number;
  sum: number;
  p50: number;
  p99: number;
  max: number;
}

/** Field names match duroxide-node's `runtime.metricsSnapshot()`. */
export interface MetricsSnapshot {
  orchStarts: number;
  orchCompletions: number;
  orchFailures: number;
  orchApplicationErrors: number;
  orchInfrastructureErrors: number;
  orchConfigurationErrors: number;
  orchPoison: number;
  activitySuccess: number;
  activityAppErrors: number;
  activityInfraErrors: number;
  activityConfigErrors: number;
  activityPoison: number;
  orchDispatcherItemsFetched: number;
  workerDispatcherItemsFetched: number;
  orchContinueAsNew: number;
  suborchestrationCalls: number;
  providerErrors: number;
  /** Orchestration turn durations (ms). */
  turnDurationMs: HistogramSummary;
  /** Activity execution durations (ms). */
  activityDurationMs: HistogramSummary;
  /**
   * Gauge, not a counter: activities of this runtime running longer than `slowActivityWarningMs`
   * right now (each holds a worker slot nothing can pre-empt). Not part of duroxide-node's set.
   */
  activitiesStuck: number;
}

/** Metric names emitted to sinks. */
export const METRIC_NAMES = {
  orchestrationStarts: "duroxide_orchestration_starts_total",
  orchestrationCompletions: "duroxide_orchestration_completions_total",
  orchestrationFailures: "duroxide_orchestration_failures_total",
  orchestrationInfrastructureErrors: "duroxide_orchestration_infrastructure_errors_total",
  orchestrationConfigurationErrors: "duroxide_orchestration_configuration_errors_total",
  orchestrationDuration: "duroxide_orchestration_duration_seconds",
  orchestrationTurnDuration: "duroxide_orchestration_turn_duration_seconds",
  orchestrationTurns: "duroxide_orchestration_turns",
  orchestrationHistorySize: "duroxide_orchestration_history_size",
  orchestrationContinueAsNew: "duroxide_orchestration_continue_as_new_total",
  orchestrationPoison: "duroxide_orchestration_poison_total",
  activeOrchestrations: "duroxide_active_orchestrations",
  orchestratorQueueDepth: "duroxide_orchestrator_queue_depth",
  workerQueueDepth: "duroxide_worker_queue_depth",
  activityExecutions: "duroxide_activity_executions_total",
  activityDuration: "duroxide_activity_duration_seconds",
  activityInfrastructureErrors: "duroxide_activity_infrastructure_errors_total",
  activityConfigurationErrors: "duroxide_activity_configuration_errors_total",
  activityPoison: "duroxide_activity_poison_total",
  providerErrors: "duroxide_provider_errors_total",
  providerOperationDuration: "duroxide_provider_operation_duration_seconds",
  suborchestrationCalls: "duroxide_suborchestration_calls_total",
  orchestrationDispatcherItemsFetched: "duroxide_orchestration_dispatcher_items_fetched",
  workerDispatcherItemsFetched: "duroxide_worker_dispatcher_items_fetched",
  lockRenewalFailures: "duroxide_lock_renewal_failures_total",
  timerQueueDepth: "duroxide_timer_queue_depth",
  inFlightActivities: "duroxide_active_activities",
  stuckActivities: "duroxide_activities_stuck",
} as const;

// ---------------------------------------------------------------------------------------------
// Fixed-bucket histogram: O(1) memory, relative quantile error ≤ ~4.4% (8 buckets per doubling).
// ---------------------------------------------------------------------------------------------

const SUB_BUCKETS_PER_DOUBLING = 8;
const LOG_BASE = Math.log(2) / SUB_BUCKETS_PER_DOUBLING;
/** Smallest resolved value (ms); smaller positive values share bucket 1. */
const MIN_VALUE = 1e-3;
/** 2^40 µs ≈ 12.7 days; larger values share the last bucket. */
const NUM_BUCKETS = 2 + 40 * SUB_BUCKETS_PER_DOUBLING;

function bucketIndex(v: number): number {
  if (!(v > 0)) return 0; // zero, negatives and NaN
  if (v <= MIN_VALUE) return 1;
  const i = 1 + Math.ceil(Math.log(v / MIN_VALUE) / LOG_BASE);
  return i >= NUM_BUCKETS ? NUM_BUCKETS - 1 : i;
}

function bucketUpper(i: number): number {
  if (i === 0) return 0;
  return MIN_VALUE * Math.exp((i - 1) * LOG_BASE);
}

function bucketLower(i: number): number {
  if (i <= 1) return 0;
  return bucketUpper(i - 1);
}

export class Histogram {
  private readonly buckets = new Float64Array(NUM_BUCKETS);
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    const v = value < 0 ? 0 : value;
    this.buckets[bucketIndex(v)]! += 1;
    this.count += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Estimated quantile (q in [0,1]), interpolated within a bucket and clamped to [min, max]. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.min(Math.max(q, 0), 1) * this.count;
    let cumulative = 0;
    for (let i = 0; i < NUM_BUCKETS; i++) {
      const c = this.buckets[i]!;
      if (c === 0) continue;
      if (cumulative + c >= rank) {
        const lower = bucketLower(i);
        const upper = i === NUM_BUCKETS - 1 ? this.max : bucketUpper(i);
        const est = lower + (upper - lower) * ((rank - cumulative) / c);
        return Math.min(Math.max(est, this.min), this.max);
      }
      cumulative += c;
    }
    return this.max;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      sum: this.sum,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      max: this.count === 0 ? 0 : this.max,
    };
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }
}

// ---------------------------------------------------------------------------------------------

export interface OrchestrationLabels {
  version?: string;
}

export interface OrchestrationStartInfo extends OrchestrationLabels {
  /** Default `client`. */
  initiatedBy?: "client" | "continueAsNew";
}

export interface OrchestrationCompletionInfo extends OrchestrationLabels {
  /** Turns in the final execution (feeds `final_turn_count` label and the turns histogram). */
  turnCount?: number;
  /** History length at completion (feeds the history-size histogram). */
  historySize?: number;
}

export interface ActivityLabels {
  tag?: string;
}

type Counters = Omit<MetricsSnapshot, "turnDurationMs" | "activityDurationMs" | "activitiesStuck">;

function zeroCounters(): Counters {
  return {
    orchStarts: 0,
    orchCompletions: 0,
    orchFailures: 0,
    orchApplicationErrors: 0,
    orchInfrastructureErrors: 0,
    orchConfigurationErrors: 0,
    orchPoison: 0,
    activitySuccess: 0,
    activityAppErrors: 0,
    activityInfraErrors: 0,
    activityConfigErrors: 0,
    activityPoison: 0,
    orchDispatcherItemsFetched: 0,
    workerDispatcherItemsFetched: 0,
    orchContinueAsNew: 0,
    suborchestrationCalls: 0,
    providerErrors: 0,
  };
}

function turnCountBucket(n: number): string {
  if (n <= 5) return "1-5";
  if (n <= 10) return "6-10";
  if (n <= 50) return "11-50";
  return "50+";
}

const ORCH_ERROR_TYPE: Readonly<Record<OrchestrationFailureCategory, string>> = {
  application: "app_error",
  infrastructure: "infrastructure_error",
  configuration: "config_error",
  poison: "poison",
};

const ACTIVITY_OUTCOME: Readonly<Record<ActivityFailureCategory, string>> = {
  application: "app_error",
  infrastructure: "infra_error",
  configuration: "config_error",
};

/** Classifies a provider error message into the `error_type` label. */
export function classifyProviderError(message: string): ProviderErrorType {
  const m = message.toLowerCase();
  if (m.includes("deadlock") || m.includes("database is locked") || m.includes("busy")) return "deadlock";
  if (m.includes("timeout") || m.includes("timed out")) return "timeout";
  if (m.includes("connect") || m.includes("connection")) return "connection";
  return "other";
}

function withVersion(labels: Labels, version: string | undefined): Labels {
  if (version !== undefined) labels["version"] = version;
  return labels;
}

export class RuntimeMetrics {
  private counters: Counters = zeroCounters();
  private readonly turnHistogram = new Histogram();
  private readonly activityHistogram = new Histogram();
  private readonly sinks: MetricsSink[] = [];
  private stuck = 0;

  constructor(sinks: readonly MetricsSink[] = []) {
    for (const s of sinks) this.sinks.push(s);
  }

  /** Forwards every subsequent event to `sink`. Returns a function that removes it. */
  addSink(sink: MetricsSink): () => void {
    this.sinks.push(sink);
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  // -- emission helpers (sink failures never propagate into the runtime) --

  private counter(name: string, value: number, labels?: Labels): void {
    for (const s of this.sinks) {
      try {
        s.counter(name, value, labels);
      } catch {
        // ignore
      }
    }
  }

  private histogram(name: string, value: number, labels?: Labels): void {
    for (const s of this.sinks) {
      try {
        s.histogram(name, value, labels);
      } catch {
        // ignore
      }
    }
  }

  private gaugeOut(name: string, value: number, labels?: Labels): void {
    for (const s of this.sinks) {
      try {
        s.gauge(name, value, labels);
      } catch {
        // ignore
      }
    }
  }

  // -- orchestrations --

  /** An execution started (client start or continue-as-new). Call once per execution, not per turn. */
  orchestrationStarted(name: string, info: OrchestrationStartInfo = {}): void {
    this.counters.orchStarts += 1;
    const initiatedBy = info.initiatedBy ?? "client";
    this.counter(
      METRIC_NAMES.orchestrationStarts,
      1,
      withVersion({ orchestration_name: name, initiated_by: initiatedBy }, info.version),
    );
  }

  /** An execution completed successfully. `durationMs`: wall time of the execution, if known. */
  orchestrationCompleted(name: string, durationMs?: number, info: OrchestrationCompletionInfo = {}): void {
    this.counters.orchCompletions += 1;
    const labels = withVersion({ orchestration_name: name, status: "success" }, info.version);
    if (info.turnCount !== undefined) labels["final_turn_count"] = turnCountBucket(info.turnCount);
    this.counter(METRIC_NAMES.orchestrationCompletions, 1, labels);
    this.recordOrchestrationEnd(name, "success", durationMs, info);
  }

  /** An execution failed. Category `poison` bumps `orchFailures` only (see `orchestrationPoisoned`). */
  orchestrationFailed(
    name: string,
    category: OrchestrationFailureCategory,
    durationMs?: number,
    info: OrchestrationCompletionInfo = {},
  ): void {
    const c = this.counters;
    c.orchFailures += 1;
    if (category === "application") c.orchApplicationErrors += 1;
    else if (category === "infrastructure") c.orchInfrastructureErrors += 1;
    else if (category === "configuration") c.orchConfigurationErrors += 1;

    const labels = withVersion({ orchestration_name: name, status: "failed" }, info.version);
    if (info.turnCount !== undefined) labels["final_turn_count"] = turnCountBucket(info.turnCount);
    this.counter(METRIC_NAMES.orchestrationCompletions, 1, labels);
    this.counter(
      METRIC_NAMES.orchestrationFailures,
      1,
      withVersion({ orchestration_name: name, error_type: ORCH_ERROR_TYPE[category], error_category: category }, info.version),
    );
    if (category === "infrastructure") {
      this.counter(METRIC_NAMES.orchestrationInfrastructureErrors, 1, { orchestration_name: name, error_category: category });
    } else if (category === "configuration") {
      this.counter(METRIC_NAMES.orchestrationConfigurationErrors, 1, { orchestration_name: name, error_category: category });
    }
    this.recordOrchestrationEnd(name, "failed", durationMs, info);
  }

  /** An execution ended with continue-as-new (the next execution reports its own start). */
  continuedAsNew(name: string, info: OrchestrationCompletionInfo = {}): void {
    this.counters.orchContinueAsNew += 1;
    const labels = withVersion({ orchestration_name: name, status: "continuedAsNew" }, info.version);
    if (info.turnCount !== undefined) labels["final_turn_count"] = turnCountBucket(info.turnCount);
    this.counter(METRIC_NAMES.orchestrationCompletions, 1, labels);
    this.counter(METRIC_NAMES.orchestrationContinueAsNew, 1, { orchestration_name: name });
  }

  private recordOrchestrationEnd(
    name: string,
    status: string,
    durationMs: number | undefined,
    info: OrchestrationCompletionInfo,
  ): void {
    if (durationMs !== undefined && Number.isFinite(durationMs)) {
      this.histogram(
        METRIC_NAMES.orchestrationDuration,
        durationMs / 1000,
        withVersion({ orchestration_name: name, status }, info.version),
      );
    }
    if (info.turnCount !== undefined) {
      this.histogram(METRIC_NAMES.orchestrationTurns, info.turnCount, { orchestration_name: name });
    }
    if (info.historySize !== undefined) {
      this.histogram(METRIC_NAMES.orchestrationHistorySize, info.historySize, { orchestration_name: name });
    }
  }

  /** An orchestration work item was poisoned (attempt_count > max_attempts). */
  orchestrationPoisoned(name: string): void {
    this.counters.orchPoison += 1;
    this.counter(METRIC_NAMES.orchestrationPoison, 1, { orchestration_name: name });
  }

  /** A sub-orchestration was scheduled by `parent`. Count once, when first scheduled (not on replay). */
  subOrchestrationCalled(parent: string, child: string): void {
    this.counters.suborchestrationCalls += 1;
    this.counter(METRIC_NAMES.suborchestrationCalls, 1, {
      parent_orchestration: parent,
      child_orchestration: child,
    });
  }

  /** Duration of one orchestration turn (replay + new decisions + ack). */
  turnDuration(name: string, ms: number): void {
    this.turnHistogram.record(ms);
    this.histogram(METRIC_NAMES.orchestrationTurnDuration, ms / 1000, { orchestration_name: name });
  }

  // -- activities --

  activitySucceeded(name: string, durationMs: number, labels: ActivityLabels = {}): void {
    this.counters.activitySuccess += 1;
    this.recordActivity(name, "success", durationMs, labels);
  }

  activityFailed(name: string, category: ActivityFailureCategory, durationMs: number, labels: ActivityLabels = {}): void {
    const c = this.counters;
    if (category === "application") c.activityAppErrors += 1;
    else if (category === "infrastructure") c.activityInfraErrors += 1;
    else c.activityConfigErrors += 1;
    this.recordActivity(name, ACTIVITY_OUTCOME[category], durationMs, labels);
    if (category === "infrastructure") {
      this.counter(METRIC_NAMES.activityInfrastructureErrors, 1, { activity_name: name });
    } else if (category === "configuration") {
      this.counter(METRIC_NAMES.activityConfigurationErrors, 1, { activity_name: name });
    }
  }

  /** An activity was cancelled while running (no snapshot counter; sinks see outcome=cancelled). */
  activityCancelled(name: string, durationMs: number, labels: ActivityLabels = {}): void {
    this.recordActivity(name, "cancelled", durationMs, labels);
  }

  /** An activity work item was poisoned before running (attempt_count > max_attempts). */
  activityPoisoned(name: string): void {
    this.counters.activityPoison += 1;
    this.counter(METRIC_NAMES.activityPoison, 1, { activity_name: name });
  }

  /**
   * Records an activity duration on its own. `activitySucceeded/Failed/Cancelled` already do this;
   * use only for executions not reported through those.
   */
  activityDuration(name: string, ms: number, labels: ActivityLabels = {}): void {
    this.activityHistogram.record(ms);
    const l: Labels = { activity_name: name };
    if (labels.tag !== undefined) l["tag"] = labels.tag;
    this.histogram(METRIC_NAMES.activityDuration, ms / 1000, l);
  }

  private recordActivity(name: string, outcome: string, durationMs: number, labels: ActivityLabels): void {
    const l: Labels = { activity_name: name, outcome };
    if (labels.tag !== undefined) l["tag"] = labels.tag;
    this.counter(METRIC_NAMES.activityExecutions, 1, l);
    if (Number.isFinite(durationMs)) {
      this.activityHistogram.record(durationMs);
      this.histogram(METRIC_NAMES.activityDuration, durationMs / 1000, l);
    }
  }

  // -- dispatchers / provider --

  orchItemsFetched(n: number): void {
    if (!(n > 0)) return;
    this.counters.orchDispatcherItemsFetched += n;
    this.counter(METRIC_NAMES.orchestrationDispatcherItemsFetched, n);
  }

  workerItemsFetched(n: number): void {
    if (!(n > 0)) return;
    this.counters.workerDispatcherItemsFetched += n;
    this.counter(METRIC_NAMES.workerDispatcherItemsFetched, n);
  }

  /** A provider operation failed. `errorType` defaults to `other`; see `classifyProviderError`. */
  providerError(op: string, errorType: ProviderErrorType = "other"): void {
    this.counters.providerErrors += 1;
    this.counter(METRIC_NAMES.providerErrors, 1, { operation: op, error_type: errorType });
  }

  /**
   * A lock renewal failed (`lock`: which lock; the work may run again elsewhere if it lapses).
   * Sinks only: the snapshot keeps duroxide-node's field set.
   */
  lockRenewalFailed(lock: "orchestration" | "activity" | "session"): void {
    this.counter(METRIC_NAMES.lockRenewalFailures, 1, { lock });
  }

  /** Duration of a provider operation (sinks only). */
  providerOperation(op: string, ms: number, status: "success" | "error"): void {
    this.histogram(METRIC_NAMES.providerOperationDuration, ms / 1000, { operation: op, status });
  }

  // -- gauges (sinks only) --

  activeOrchestrations(n: number): void {
    this.gaugeOut(METRIC_NAMES.activeOrchestrations, n);
  }

  queueDepths(orchestrator: number, worker: number): void {
    this.gaugeOut(METRIC_NAMES.orchestratorQueueDepth, orchestrator);
    this.gaugeOut(METRIC_NAMES.workerQueueDepth, worker);
  }

  /**
   * How many activities are running past `slowActivityWarningMs` now: kept for the snapshot and
   * pushed to sinks (as `duroxide_activities_stuck`, labelled with the runtime) on every change.
   */
  activitiesStuck(n: number, runtimeId: string): void {
    this.stuck = n;
    this.gaugeOut(METRIC_NAMES.stuckActivities, n, { runtime_id: runtimeId });
  }

  // -- reading --

  /** A point-in-time copy of the counters and histogram summaries. */
  snapshot(): MetricsSnapshot {
    return {
      ...this.counters,
      turnDurationMs: this.turnHistogram.summary(),
      activityDurationMs: this.activityHistogram.summary(),
      activitiesStuck: this.stuck,
    };
  }

  /** Zeroes the in-memory counters and histograms (sinks are unaffected; gauges keep reading now). */
  reset(): void {
    this.counters = zeroCounters();
    this.turnHistogram.reset();
    this.activityHistogram.reset();
  }
}
