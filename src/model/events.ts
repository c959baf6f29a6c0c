// History events: the durable record of everything an orchestration decided and received.
import type { ErrorDetailsData } from "./errors.js";
import type { TraceCarrier } from "./trace.js";

/** Version of this library written into every event (the reference pins executions by it). */
export const DUROXIDE_VERSION = "0.1.0";

export interface EventEnvelope {
  /** Position within one execution, starting at 1. Assigned by the runtime, never the provider. */
  eventId: number;
  /** For completions and breadcrumbs: the event id of the scheduling event. */
  sourceEventId: number | null;
  instanceId: string;
  executionId: number;
  timestampMs: number;
  duroxideVersion: string;
}

/** A (name, data) pair of an unconsumed queue message carried across continue-as-new. */
export type CarriedEvent = [name: string, data: string];

export type EventKind =
  | {
      type: "OrchestrationStarted";
      name: string;
      version: string;
      input: string;
      parentInstance: string | null;
      parentId: number | null;
      /** Carried explicitly so a child always reports to the right execution of its parent. */
      parentExecutionId: number | null;
      carryForwardEvents?: CarriedEvent[];
      initialCustomStatus?: string | null;
      /** Context of the execution's span: later turns and activities (any process) are its children. */
      trace?: TraceCarrier;
    }
  | { type: "OrchestrationCompleted"; output: string }
  | { type: "OrchestrationFailed"; details: ErrorDetailsData }
  | { type: "OrchestrationContinuedAsNew"; input: string }
  | { type: "OrchestrationCancelRequested"; reason: string }
  | {
      type: "ActivityScheduled";
      name: string;
      input: string;
      sessionId?: string;
      tag?: string;
      heartbeatTimeoutMs?: number;
      /** A retry policy's attempt: a lost attempt is reported as failed (see the work item). */
      failWhenLost?: boolean;
      /** JSON of the previous attempt's last heartbeat, handed to this attempt. */
      heartbeatDetails?: string;
    }
  | { type: "ActivityCompleted"; result: string }
  | { type: "ActivityFailed"; details: ErrorDetailsData }
  | { type: "ActivityCancelRequested"; reason: string }
  | { type: "TimerCreated"; fireAtMs: number }
  | { type: "TimerFired"; fireAtMs: number }
  | { type: "ExternalSubscribed"; name: string }
  | { type: "ExternalEvent"; name: string; data: string }
  | { type: "ExternalSubscribedCancelled"; reason: string }
  | { type: "QueueSubscribed"; name: string }
  | { type: "QueueEventDelivered"; name: string; data: string }
  | { type: "QueueSubscriptionCancelled"; reason: string }
  | { type: "SubOrchestrationScheduled"; name: string; instance: string; input: string; version?: string }
  | { type: "SubOrchestrationCompleted"; result: string }
  | { type: "SubOrchestrationFailed"; details: ErrorDetailsData }
  | { type: "SubOrchestrationCancelRequested"; reason: string }
  | { type: "OrchestrationChained"; name: string; instance: string; input: string; version?: string }
  | { type: "CustomStatusUpdated"; status: string | null }
  | { type: "KeyValueSet"; key: string; value: string; lastUpdatedAtMs: number }
  | { type: "KeyValueCleared"; key: string }
  | { type: "KeyValuesCleared" }
  /**
   * A value the orchestration read from the outside world without a round trip
   * (`newGuid`, `utcNow`): recorded once, returned unchanged on replay.
   */
  | { type: "SystemCall"; op: SystemCallOp; value: string }
  /**
   * `ctx.patched(patchId)` was reached for the first time on code that has the patch: on replay
   * the same call returns true again; a history without the marker makes it return false.
   */
  | { type: "PatchMarker"; patchId: string };

export type SystemCallOp = "newGuid" | "utcNow";

export type EventType = EventKind["type"];
export type HistoryEvent = EventEnvelope & EventKind;
export type EventOf<T extends EventType> = EventEnvelope & Extract<EventKind, { type: T }>;

const TERMINAL: ReadonlySet<EventType> = new Set<EventType>([
  "OrchestrationCompleted",
  "OrchestrationFailed",
  "OrchestrationContinuedAsNew",
]);

export function isTerminalEvent(e: { type: EventType }): boolean {
  return TERMINAL.has(e.type);
}

/** Events the orchestration code produces (matched positionally on replay). */
const DECISIONS: ReadonlySet<EventType> = new Set<EventType>([
  "ActivityScheduled",
  "TimerCreated",
  "ExternalSubscribed",
  "QueueSubscribed",
  "SubOrchestrationScheduled",
  "OrchestrationChained",
  "CustomStatusUpdated",
  "KeyValueSet",
  "KeyValueCleared",
  "KeyValuesCleared",
  "SystemCall",
  "PatchMarker",
  "ActivityCancelRequested",
  "SubOrchestrationCancelRequested",
  "ExternalSubscribedCancelled",
  "QueueSubscriptionCancelled",
]);

export function isDecisionEvent(e: { type: EventType }): boolean {
  return DECISIONS.has(e.type);
}
