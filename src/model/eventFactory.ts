// The one place history events are built: the envelope every event carries, the start event, and
// the event a live message becomes once an execution accepts it. The engine, the dispatcher's
// poison path and the test fixtures all build events here, so an event's shape is decided once.
import { DUROXIDE_VERSION, type EventEnvelope, type EventKind, type EventOf, type HistoryEvent } from "./events.js";
import type { ParentLink, WorkItem } from "./workItems.js";
import type { TraceCarrier } from "./trace.js";

/** Where an event goes: its execution, its position and (for completions and breadcrumbs) its source. */
export interface EventPlace {
  instanceId: string;
  executionId: number;
  eventId: number;
  sourceEventId?: number | null;
  timestampMs: number;
}

/** A history event: `kind` wrapped in its envelope. */
export function newEvent<K extends EventKind>(place: EventPlace, kind: K): EventEnvelope & K;
export function newEvent(place: EventPlace, kind: EventKind): HistoryEvent;
export function newEvent(place: EventPlace, kind: EventKind): HistoryEvent {
  return {
    eventId: place.eventId,
    sourceEventId: place.sourceEventId ?? null,
    instanceId: place.instanceId,
    executionId: place.executionId,
    timestampMs: place.timestampMs,
    duroxideVersion: DUROXIDE_VERSION,
    ...kind,
  };
}

export interface StartFields {
  name: string;
  version: string;
  input: string;
  parent: ParentLink | null;
  carryForwardEvents?: Array<[string, string]> | undefined;
  initialCustomStatus?: string | null | undefined;
  trace?: TraceCarrier | undefined;
}

/** OrchestrationStarted: optional fields are present only when they say something. */
export function startedKind(s: StartFields): Extract<EventKind, { type: "OrchestrationStarted" }> {
  return {
    type: "OrchestrationStarted",
    name: s.name,
    version: s.version,
    input: s.input,
    parentInstance: s.parent?.parentInstance ?? null,
    parentId: s.parent?.parentId ?? null,
    parentExecutionId: s.parent?.parentExecutionId ?? null,
    ...(s.carryForwardEvents && s.carryForwardEvents.length > 0 ? { carryForwardEvents: s.carryForwardEvents } : {}),
    ...(s.initialCustomStatus !== undefined && s.initialCustomStatus !== null ? { initialCustomStatus: s.initialCustomStatus } : {}),
    ...(s.trace !== undefined ? { trace: s.trace } : {}),
  };
}

/** The parent link an OrchestrationStarted records, or null for a top-level instance. */
export function parentOf(started: EventOf<"OrchestrationStarted">): ParentLink | null {
  if (started.parentInstance === null || started.parentId === null) return null;
  return { parentInstance: started.parentInstance, parentId: started.parentId, parentExecutionId: started.parentExecutionId ?? 1 };
}

/**
 * The event a message becomes when an execution takes it, with the execution it is addressed to
 * (completions name one; events, queue messages and cancels go to whichever execution is current)
 * and the schedule it completes. Starts and continue-as-new are not events of a running execution.
 */
export interface MessageEvent {
  kind: EventKind;
  /** The schedule event the message completes, or null. */
  sourceEventId: number | null;
  /** The execution the message is addressed to, or null for the current one. */
  executionId: number | null;
}

export function eventOfMessage(m: WorkItem): MessageEvent | null {
  switch (m.type) {
    case "ActivityCompleted":
      return { kind: { type: "ActivityCompleted", result: m.result }, sourceEventId: m.id, executionId: m.executionId };
    case "ActivityFailed":
      return { kind: { type: "ActivityFailed", details: m.details }, sourceEventId: m.id, executionId: m.executionId };
    case "TimerFired":
      return { kind: { type: "TimerFired", fireAtMs: m.fireAtMs }, sourceEventId: m.id, executionId: m.executionId };
    case "SubOrchCompleted":
      return { kind: { type: "SubOrchestrationCompleted", result: m.result }, sourceEventId: m.parentId, executionId: m.parentExecutionId };
    case "SubOrchFailed":
      return { kind: { type: "SubOrchestrationFailed", details: m.details }, sourceEventId: m.parentId, executionId: m.parentExecutionId };
    case "ExternalRaised":
      return { kind: { type: "ExternalEvent", name: m.name, data: m.data }, sourceEventId: null, executionId: null };
    case "QueueMessage":
      return { kind: { type: "QueueEventDelivered", name: m.name, data: m.data }, sourceEventId: null, executionId: null };
    case "CancelInstance":
      return { kind: { type: "OrchestrationCancelRequested", reason: m.reason }, sourceEventId: null, executionId: null };
    default:
      return null;
  }
}
