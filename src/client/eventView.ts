// How the management API shows one history event: duroxide-node's JsEvent. `data` is JSON text of
// the event's content, with every payload (input, output, result, event data) embedded as the value
// it carries rather than as JSON text inside JSON, and failures in the reference's tagged
// ErrorDetails form ({ "Application": { kind, message, retryable, … } }), so code written against
// duroxide-node parses it the same way.
import type { HistoryEvent } from "../model/events.js";
import type { ErrorDetailsData, PoisonMessageType } from "../model/errors.js";
import { decodeJson } from "../model/json.js";

/** A history event as the management API returns it (duroxide-node JsEvent shape). */
export interface HistoryEventView {
  eventId: number;
  kind: string;
  sourceEventId?: number;
  timestampMs: number;
  /** JSON text of the event's content; absent for events that carry nothing. */
  data?: string;
}

export function viewEvent(e: HistoryEvent): HistoryEventView {
  const v: HistoryEventView = { eventId: e.eventId, kind: e.type, timestampMs: e.timestampMs };
  if (e.sourceEventId !== null) v.sourceEventId = e.sourceEventId;
  const data = eventData(e);
  if (data !== undefined) v.data = JSON.stringify(data);
  return v;
}

/** The stored JSON text of a payload as its value (text that is not JSON stays a string). */
const payload = decodeJson;

function eventData(e: HistoryEvent): unknown {
  switch (e.type) {
    case "OrchestrationStarted":
      return { name: e.name, version: e.version, input: payload(e.input) };
    case "OrchestrationCompleted":
      return payload(e.output);
    case "ActivityCompleted":
    case "SubOrchestrationCompleted":
      return payload(e.result);
    case "OrchestrationFailed":
    case "ActivityFailed":
    case "SubOrchestrationFailed":
      return taggedFailure(e.details);
    case "OrchestrationContinuedAsNew":
      return { input: payload(e.input) };
    case "ActivityScheduled":
      return {
        name: e.name,
        input: payload(e.input),
        ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
        ...(e.tag !== undefined ? { tag: e.tag } : {}),
      };
    case "SubOrchestrationScheduled":
    case "OrchestrationChained":
      return { name: e.name, instance: e.instance, input: payload(e.input), ...(e.version !== undefined ? { version: e.version } : {}) };
    case "ExternalEvent":
    case "QueueEventDelivered":
      return { name: e.name, data: payload(e.data) };
    case "SystemCall":
      return { op: e.op, value: payload(e.value) };
    default: {
      // The remaining kinds hold only plain fields (names, reasons, times, keys): shown as they are.
      const { eventId: _e, sourceEventId: _s, timestampMs: _t, type: _k, instanceId: _i, executionId: _x, duroxideVersion: _v, ...rest } = e;
      return Object.keys(rest).length > 0 ? rest : undefined;
    }
  }
}

/** Our ErrorDetailsData in the reference's externally tagged form (category as the key). */
function taggedFailure(d: ErrorDetailsData): unknown {
  switch (d.category) {
    case "infrastructure":
      return { Infrastructure: { operation: d.operation, message: d.message, retryable: d.retryable } };
    case "configuration":
      return {
        Configuration: { kind: d.kind, resource: d.resource, message: d.message, ...(d.location !== undefined ? { location: d.location } : {}) },
      };
    case "application": {
      const { category: _c, kind, reason, ...fields } = d;
      return { Application: { ...fields, kind: kind === "Cancelled" ? { Cancelled: { reason: reason ?? "" } } : kind } };
    }
    case "poison":
      return {
        Poison: {
          attempt_count: d.attemptCount,
          max_attempts: d.maxAttempts,
          message_type: taggedPoisonType(d.messageType),
          message: d.message,
        },
      };
  }
}

/** { kind: "Activity", executionId, … } → { Activity: { execution_id, … } } (the reference's field names). */
function taggedPoisonType(t: PoisonMessageType): unknown {
  const { kind, ...fields } = t;
  const snake: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) snake[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return { [kind]: snake };
}
