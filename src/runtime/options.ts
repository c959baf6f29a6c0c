// Runtime options: duroxide-node names, plus our own knobs, with defaults.
import type { TagFilter } from "../providers/provider.js";
import type { LogSink } from "../observability/logger.js";
import type { MetricsSink } from "../observability/metrics.js";
import type { TelemetryHooks } from "../observability/hooks.js";
import type { PinoLikeLogger } from "../observability/pino.js";
import { InvalidArgumentError } from "../model/errors.js";
import { REAL_CLOCK, type Clock } from "../model/clock.js";

/** duroxide-node tag filter forms. */
export type WorkerTagFilter = "defaultOnly" | "any" | "none" | { tags: string[] } | { defaultAnd: string[] };

export const MAX_WORKER_TAGS = 5;
export const MAX_TAG_NAME_BYTES = 256;

export interface RuntimeOptions {
  /** Orchestration turns processed at once (default 4); 0: a worker-only runtime (runs activities, no turns). */
  orchestrationConcurrency?: number;
  /** Activities run at once (default 8); 0: an orchestrator-only runtime (runs turns, no activities). */
  workerConcurrency?: number;
  /**
   * Idle poll interval; in-process work wakes dispatchers at once regardless (default 100 ms). With
   * a store whose notifications reach across processes (PostgreSQL), an idle dispatcher polls only
   * as a safety net for expired locks: every quarter of its lock timeout, at most every 500 ms.
   */
  dispatcherPollIntervalMs?: number;
  /** Orchestration instance lock (default 5 s); renewed while a turn runs. */
  orchestratorLockTimeoutMs?: number;
  /** Activity lock (default 30 s); renewed while the activity runs. */
  workerLockTimeoutMs?: number;
  /**
   * Fetches of one message before it is poisoned (default 10). A message whose orchestration or
   * activity no fetching runtime registered is retried after 1 s doubling to 60 s and given up at
   * the maxAttempts-th fetch (about 4 minutes with the default).
   */
  maxAttempts?: number;
  /** How long a cancelled activity may keep running before its result is dropped (default 10 s). */
  activityCancellationGracePeriodMs?: number;
  /** How often a running activity checks whether it was withdrawn, besides notifications (default 1 s). */
  activityCancellationPollMs?: number;
  /** Keep live orchestration state between turns (default 1000 instances, idle 5 min). */
  instanceCacheSize?: number;
  instanceCacheIdleMs?: number;
  /**
   * Bound on the history payload bytes (inputs, results, event data) summed over the cached
   * executions (default 64 MiB): the data their code was handed, a cheap measure of what it can
   * hold. The least recently used go first; an evicted instance replays from history on its next turn.
   */
  instanceCacheMaxBytes?: number;
  /** Replay from history on every turn (tests use it to prove both paths agree). */
  replayEveryTurn?: boolean;
  maxSessionsPerRuntime?: number;
  sessionIdleTimeoutMs?: number;
  sessionLockTimeoutMs?: number;
  workerNodeId?: string;
  workerTagFilter?: WorkerTagFilter;
  /** Legacy duroxide-node form: "tags" / "defaultAnd" with the list here. */
  workerTagFilterTags?: string[];
  /**
   * Level of the user traces (`ctx.trace*`, targets duroxide::orchestration / duroxide::activity);
   * runtime internals log at the quieter of this and `warn`. A directive string also works
   * ("debug,duroxide::runtime=debug"). Absent: env DUROXIDE_LOG_LEVEL, then "info".
   * Orchestration traces are silent while the code replays.
   */
  logLevel?: string;
  /** Line format on stderr (absent: env DUROXIDE_LOG_FORMAT, then "pretty"). */
  logFormat?: "json" | "pretty" | "compact";
  /** Receive every enabled record instead of writing to stderr. Logs never go to stdout. */
  logSink?: LogSink;
  serviceName?: string;
  serviceVersion?: string;
  /**
   * Exporters (Prometheus, OpenTelemetry, ...) implement `MetricsSink` { counter, histogram, gauge }
   * and receive every metric event with duroxide's names and labels. Sinks can also be added
   * later with `runtime.metrics.addSink(sink)`; `runtime.metricsSnapshot()` gives exact in-memory counters.
   */
  metricsSinks?: MetricsSink[];
  /**
   * Tracing and OTel metrics: `openTelemetry()` from `duroxide-ts/telemetry` (spans in the app's
   * TracerProvider, metrics through its MeterProvider). Absent: nothing is traced and no
   * OpenTelemetry module is loaded. `runtime.client` uses the same hooks.
   */
  telemetry?: TelemetryHooks;
  /**
   * A pino-compatible logger (`info(obj, msg)` etc.) that receives every record instead of stderr,
   * with `target`, the record's fields, and `trace_id`/`span_id` when a span is active. Its
   * `level` is the threshold for all duroxide targets unless `logLevel` is given.
   */
  logger?: PinoLikeLogger;
  /**
   * Source of "now" for history timestamps, durable timer fire times and `ctx.utcNow()`, and for
   * when the runtime looks for due timers (default real time). Give the store the same clock.
   * The test kit's TestEnvironment passes a virtual clock; activities keep real time.
   */
  clock?: Clock;
  /**
   * The determinism guard (default "guard"). While orchestration code runs, `Date.now()`,
   * `new Date()` and `Math.random()` return values that replay identically (the time of the event
   * being handled; a random sequence seeded per instance) and `setTimeout`, `setInterval`,
   * `setImmediate` and `crypto.randomUUID()` throw naming the line and the durable alternative.
   * "strict" also throws on Date and Math.random; "off" patches nothing. Activities, clients and
   * other code in the process always see the real functions.
   */
  determinism?: "guard" | "strict" | "off";
  /**
   * What a nondeterminism error does to an instance (default "fail"). "suspend": the turn is not
   * stored; the instance stays Running, shows the error as its `suspension` (getStatus,
   * getInstanceState), and its messages wait `nondeterminismRetryMs` before any runtime tries
   * again, so it continues by itself once code that replays its history is deployed (or rolled
   * back). Needs a store that supports it (SQLite); elsewhere the instance fails.
   */
  onNondeterminism?: "fail" | "suspend";
  /** How long a suspended instance waits before it is tried again (default 30 000 ms). */
  nondeterminismRetryMs?: number;
  /**
   * An activity still running after this long is reported (a warn log "activity has held its
   * worker slot …", repeated at each doubling of its run time) so slots held by stuck activities
   * are visible; 0 turns it off (default 300000 = 5 min). Activities have no default timeout
   * (see README, "Reliability under faults").
   */
  slowActivityWarningMs?: number;
}

export interface ResolvedOptions {
  orchestrationConcurrency: number;
  workerConcurrency: number;
  pollIntervalMs: number;
  orchestratorLockTimeoutMs: number;
  workerLockTimeoutMs: number;
  slowActivityWarningMs: number;
  maxAttempts: number;
  cancellationGraceMs: number;
  cancellationPollMs: number;
  cacheSize: number;
  cacheIdleMs: number;
  cacheMaxBytes: number;
  replayEveryTurn: boolean;
  maxSessions: number;
  sessionIdleTimeoutMs: number;
  sessionLockTimeoutMs: number;
  workerNodeId: string | null;
  tagFilter: TagFilter;
  clock: Clock;
  determinism: "guard" | "strict" | "off";
  onNondeterminism: "fail" | "suspend";
  nondeterminismRetryMs: number;
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || Math.floor(v) !== v)
    throw new InvalidArgumentError(`runtime option ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

export function normalizeTagFilter(f: WorkerTagFilter | string | undefined, legacyTags?: string[]): TagFilter {
  if (f === undefined || f === "defaultOnly") return { kind: "defaultOnly" };
  if (f === "any") return { kind: "any" };
  if (f === "none") return { kind: "none" };
  const check = (tags: unknown): string[] => {
    if (!Array.isArray(tags) || tags.length === 0) throw new InvalidArgumentError("workerTagFilter needs at least one tag");
    if (tags.length > MAX_WORKER_TAGS) throw new InvalidArgumentError(`workerTagFilter allows at most ${MAX_WORKER_TAGS} tags`);
    for (const t of tags)
      if (typeof t !== "string" || t.length === 0 || Buffer.byteLength(t) > MAX_TAG_NAME_BYTES)
        throw new InvalidArgumentError(`invalid worker tag ${JSON.stringify(t)}`);
    return tags as string[];
  };
  if (f === "tags") return { kind: "tags", tags: check(legacyTags) };
  if (f === "defaultAnd") return { kind: "defaultAnd", tags: check(legacyTags) };
  if (typeof f === "object" && f !== null && "tags" in f) return { kind: "tags", tags: check(f.tags) };
  if (typeof f === "object" && f !== null && "defaultAnd" in f) return { kind: "defaultAnd", tags: check(f.defaultAnd) };
  throw new InvalidArgumentError(`unknown workerTagFilter ${JSON.stringify(f)}`);
}

function nondeterminismPolicy(v: unknown): "fail" | "suspend" {
  if (v === undefined) return "fail";
  if (v === "fail" || v === "suspend") return v;
  throw new InvalidArgumentError(`runtime option onNondeterminism must be "fail" or "suspend", got ${JSON.stringify(v)}`);
}

function determinismMode(v: unknown): "guard" | "strict" | "off" {
  if (v === undefined) return "guard";
  if (v === "guard" || v === "strict" || v === "off") return v;
  throw new InvalidArgumentError(`runtime option determinism must be "guard", "strict" or "off", got ${JSON.stringify(v)}`);
}

export function resolveOptions(o: RuntimeOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    orchestrationConcurrency: positiveInt("orchestrationConcurrency", o.orchestrationConcurrency, 4, 0),
    workerConcurrency: positiveInt("workerConcurrency", o.workerConcurrency, 8, 0),
    pollIntervalMs: positiveInt("dispatcherPollIntervalMs", o.dispatcherPollIntervalMs, 100),
    orchestratorLockTimeoutMs: positiveInt("orchestratorLockTimeoutMs", o.orchestratorLockTimeoutMs, 5_000, 100),
    workerLockTimeoutMs: positiveInt("workerLockTimeoutMs", o.workerLockTimeoutMs, 30_000, 100),
    slowActivityWarningMs: positiveInt("slowActivityWarningMs", o.slowActivityWarningMs, 300_000, 0),
    maxAttempts: positiveInt("maxAttempts", o.maxAttempts, 10),
    cancellationGraceMs: positiveInt("activityCancellationGracePeriodMs", o.activityCancellationGracePeriodMs, 10_000, 0),
    cancellationPollMs: positiveInt("activityCancellationPollMs", o.activityCancellationPollMs, 1_000, 10),
    cacheSize: positiveInt("instanceCacheSize", o.instanceCacheSize, 1_000, 0),
    cacheIdleMs: positiveInt("instanceCacheIdleMs", o.instanceCacheIdleMs, 300_000),
    cacheMaxBytes: positiveInt("instanceCacheMaxBytes", o.instanceCacheMaxBytes, 64 * 1024 * 1024, 0),
    replayEveryTurn: o.replayEveryTurn ?? false,
    maxSessions: positiveInt("maxSessionsPerRuntime", o.maxSessionsPerRuntime, 10),
    sessionIdleTimeoutMs: positiveInt("sessionIdleTimeoutMs", o.sessionIdleTimeoutMs, 300_000),
    sessionLockTimeoutMs: positiveInt("sessionLockTimeoutMs", o.sessionLockTimeoutMs, 30_000, 100),
    workerNodeId: o.workerNodeId ?? null,
    tagFilter: normalizeTagFilter(o.workerTagFilter, o.workerTagFilterTags),
    clock: o.clock ?? REAL_CLOCK,
    determinism: determinismMode(o.determinism),
    onNondeterminism: nondeterminismPolicy(o.onNondeterminism),
    nondeterminismRetryMs: positiveInt("nondeterminismRetryMs", o.nondeterminismRetryMs, 30_000, 1),
  };
  if (resolved.orchestrationConcurrency === 0 && resolved.workerConcurrency === 0)
    throw new InvalidArgumentError("runtime options orchestrationConcurrency and workerConcurrency cannot both be 0 (the runtime would do nothing)");
  return resolved;
}
