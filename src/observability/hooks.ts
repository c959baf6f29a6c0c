// The telemetry hook interface: the runtime and the client call these at the points a trace
// needs (a start queued, a turn, an activity attempt). The engine and the stores never see them;
// `src/telemetry` implements them with OpenTelemetry, and without hooks nothing is called at all.
import type { HistoryEvent } from "../model/events.js";
import type { ErrorDetailsData } from "../model/errors.js";
import type { ExecutionStatus } from "../model/status.js";
import type { TraceCarrier } from "../model/trace.js";
import type { MetricsSink } from "./metrics.js";

/** Ids of a span, as log records carry them. */
export interface SpanIds {
  traceId: string;
  spanId: string;
}

export interface StartRequest {
  instanceId: string;
  orchestrationName: string;
  version: string | null;
  /** The encoded input (recorded only when payload recording is on). */
  input: string;
}

export interface StartTelemetry {
  readonly context: TraceCarrier | undefined;
  /** The start was stored (no error) or refused. */
  end(error?: unknown): void;
}

export interface TurnInfo {
  instanceId: string;
  executionId: number;
  orchestrationName: string;
  orchestrationVersion: string;
  workerId: string;
  /**
   * A turn that begins an execution: the context that came with its start (client call, parent
   * turn, or the turn that continued as new). The hooks open the execution's span under it.
   */
  newExecution?: { parent: TraceCarrier | undefined; input: string; initiatedBy: "client" | "continueAsNew" | "parent" };
  /** A later turn: the execution's context as stored in its OrchestrationStarted. */
  execution?: TraceCarrier;
}

export interface TurnEnd {
  /** False when the ack failed: nothing of the turn was stored and it will run again. */
  stored: boolean;
  status: ExecutionStatus;
  /** The events this turn added (live work only, never replayed events). */
  delta: readonly HistoryEvent[];
  output: string | null;
  failure: ErrorDetailsData | null;
  error?: unknown;
}

export interface TurnTelemetry {
  /** Store with the new execution's OrchestrationStarted (set for a turn that begins one). */
  readonly executionContext: TraceCarrier | undefined;
  /** Stamp on the work this turn creates (activities, children, detached starts, continue-as-new). */
  readonly workContext: TraceCarrier | undefined;
  /** For log records written during the turn. */
  readonly ids: SpanIds | undefined;
  end(outcome: TurnEnd): void;
}

export interface ActivityAttemptInfo {
  instanceId: string;
  executionId: number;
  orchestrationName: string;
  orchestrationVersion: string;
  activityName: string;
  activityId: number;
  /** Delivery attempt of this work item (1 = first run). */
  attempt: number;
  workerId: string;
  sessionId: string | null;
  tag: string | null;
  input: string;
  /** The scheduling turn's context, stored with the work item. */
  parent: TraceCarrier | undefined;
}

export type ActivityOutcome =
  | { outcome: "success"; result: string }
  | { outcome: "failed"; category: "application" | "infrastructure" | "configuration"; message: string; errorName?: string }
  /** Withdrawn (its orchestration ended or it lost a race) while it ran. */
  | { outcome: "cancelled" }
  /** Handed back unfinished (shutdown, lost lock): another attempt follows. */
  | { outcome: "abandoned"; reason: string };

export interface ActivityTelemetry {
  readonly ids: SpanIds | undefined;
  /** Runs the handler with the attempt's span active, so the user's own spans nest under it. */
  run<T>(fn: () => T): T;
  end(outcome: ActivityOutcome): void;
}

/** Values the runtime can be asked for when gauges are collected (never polled otherwise). */
export interface GaugeSources {
  queueDepths?: () => Promise<{ orchestrator: number; worker: number; timer: number }>;
  /** Orchestration turns and activities running in this runtime now. */
  inFlight: () => { orchestrations: number; activities: number };
}

export interface RuntimeAttachment {
  serviceName?: string;
  serviceVersion?: string;
  runtimeId: string;
  gauges: GaugeSources;
}

export interface TelemetryHooks {
  /** Client: a start is being queued; store `context` with it (none: no trace), then `end`. */
  startQueued(request: StartRequest): StartTelemetry;
  turnStarted(info: TurnInfo): TurnTelemetry;
  activityStarted(info: ActivityAttemptInfo): ActivityTelemetry;
  /** Ids of the span active in the caller's context, for log records outside turns and activities. */
  activeSpanIds(): SpanIds | undefined;
  /** Receives every metric the runtime records, besides the runtime's own sinks. */
  readonly metricsSink?: MetricsSink;
  /** A runtime starts reporting; the returned function detaches it (at shutdown). */
  attachRuntime?(runtime: RuntimeAttachment): () => void;
}
