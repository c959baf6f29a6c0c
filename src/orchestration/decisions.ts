// Decisions: what orchestration code asks for. Each becomes one history event, and on replay each
// must match the history event at the same position among decision events.
import type { EventKind, HistoryEvent, SystemCallOp } from "../model/events.js";
import type { WorkItem } from "../model/workItems.js";
import type { DurableFuture } from "./future.js";
import type { ScheduleKind } from "./schedules.js";

export type BreadcrumbType =
  | "ActivityCancelRequested"
  | "SubOrchestrationCancelRequested"
  | "ExternalSubscribedCancelled"
  | "QueueSubscriptionCancelled";

export type DecisionBody =
  | {
      type: "ActivityScheduled";
      name: string;
      input: string;
      sessionId?: string;
      tag?: string;
      /** Not matched on replay: changing a timeout does not change what the code did. */
      heartbeatTimeoutMs?: number;
      failWhenLost?: boolean;
      heartbeatDetails?: string;
    }
  | { type: "TimerCreated"; delayMs: number }
  | { type: "ExternalSubscribed"; name: string }
  | { type: "QueueSubscribed"; name: string }
  | { type: "SubOrchestrationScheduled"; name: string; input: string; version?: string; explicitInstance?: string }
  | { type: "OrchestrationChained"; name: string; instance: string; input: string; version?: string }
  | { type: "CustomStatusUpdated"; status: string | null }
  | { type: "KeyValueSet"; key: string; value: string }
  | { type: "KeyValueCleared"; key: string }
  | { type: "KeyValuesCleared" }
  | { type: "SystemCall"; op: SystemCallOp }
  | { type: "PatchMarker"; patchId: string }
  | { type: BreadcrumbType; reason: string; target: Decision };

/** An emitted decision plus what it became once bound to an event. */
export interface Decision {
  body: DecisionBody;
  future?: DurableFuture<unknown>;
  /** Set when bound (matched on replay, or appended as a new event). */
  event?: HistoryEvent;
  /** The work item produced for a new decision this turn, if any. */
  workItem?: WorkItem;
  /** Replay: the history event it matched still needs a tag check at the end of the step. */
  verifyTag?: boolean;
}

function short(s: string, n = 120): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export function describeDecision(d: DecisionBody): string {
  switch (d.type) {
    case "ActivityScheduled":
      return `schedule activity '${d.name}' with input ${short(d.input)}${d.sessionId ? ` on session '${d.sessionId}'` : ""}${d.tag ? ` tagged '${d.tag}'` : ""}`;
    case "TimerCreated":
      return `create a timer`;
    case "ExternalSubscribed":
      return `wait for event '${d.name}'`;
    case "QueueSubscribed":
      return `dequeue from '${d.name}'`;
    case "SubOrchestrationScheduled":
      return `start sub-orchestration '${d.name}' with input ${short(d.input)}`;
    case "OrchestrationChained":
      return `start detached orchestration '${d.name}' as '${d.instance}' with input ${short(d.input)}`;
    case "CustomStatusUpdated":
      return `set custom status`;
    case "KeyValueSet":
      return `set KV '${d.key}' to ${short(d.value)}`;
    case "KeyValueCleared":
      return `clear KV '${d.key}'`;
    case "KeyValuesCleared":
      return `clear all KV values`;
    case "SystemCall":
      return `call ${d.op}()`;
    case "PatchMarker":
      return `take patch '${d.patchId}' (ctx.patched)`;
    default:
      return `cancel (${d.type}) the task scheduled at event ${d.target.event?.eventId ?? "?"}`;
  }
}

export function describeEvent(e: HistoryEvent): string {
  switch (e.type) {
    case "ActivityScheduled":
      return `ActivityScheduled '${e.name}' with input ${short(e.input)}${e.sessionId ? ` on session '${e.sessionId}'` : ""}${e.tag ? ` tagged '${e.tag}'` : ""}`;
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return `${e.type} '${e.name}'`;
    case "SubOrchestrationScheduled":
      return `SubOrchestrationScheduled '${e.name}' with input ${short(e.input)}`;
    case "OrchestrationChained":
      return `OrchestrationChained '${e.name}' as '${e.instance}' with input ${short(e.input)}`;
    case "KeyValueSet":
      return `KeyValueSet '${e.key}' = ${short(e.value)}`;
    case "KeyValueCleared":
      return `KeyValueCleared '${e.key}'`;
    case "SystemCall":
      return `SystemCall ${e.op}()`;
    case "PatchMarker":
      return `PatchMarker '${e.patchId}' (ctx.patched; keep the call, or ctx.deprecatePatch, while such instances run)`;
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "ExternalSubscribedCancelled":
    case "QueueSubscriptionCancelled":
      return `${e.type} for event ${e.sourceEventId}`;
    default:
      return e.type;
  }
}

/** Does a decision reproduce the history event at its position? Tags are checked separately. */
export function decisionMatches(d: DecisionBody, e: HistoryEvent): boolean {
  if (d.type !== e.type) return false;
  switch (d.type) {
    case "ActivityScheduled": {
      const ev = e as Extract<HistoryEvent, { type: "ActivityScheduled" }>;
      return ev.name === d.name && ev.input === d.input && (ev.sessionId ?? undefined) === (d.sessionId ?? undefined);
    }
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return (e as { name: string }).name === d.name;
    case "SubOrchestrationScheduled": {
      const ev = e as Extract<HistoryEvent, { type: "SubOrchestrationScheduled" }>;
      return ev.name === d.name && ev.input === d.input;
    }
    case "OrchestrationChained": {
      const ev = e as Extract<HistoryEvent, { type: "OrchestrationChained" }>;
      return ev.name === d.name && ev.instance === d.instance && ev.input === d.input;
    }
    case "KeyValueSet": {
      const ev = e as Extract<HistoryEvent, { type: "KeyValueSet" }>;
      return ev.key === d.key && ev.value === d.value;
    }
    case "KeyValueCleared":
      return (e as { key: string }).key === d.key;
    case "SystemCall":
      return (e as { op: string }).op === d.op;
    case "PatchMarker":
      return (e as { patchId: string }).patchId === d.patchId;
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "ExternalSubscribedCancelled":
    case "QueueSubscriptionCancelled":
      return e.sourceEventId === d.target.event?.eventId;
    default:
      // Timers, custom status and clear-all match by kind alone.
      return true;
  }
}

/** What a new decision records: its event kind (with the values only a live turn knows) and source. */
export function eventOfDecision(
  b: DecisionBody,
  at: { now: number; instance: string; nextEventId: number; newGuid: () => string },
): { kind: EventKind; sourceEventId: number | null } {
  switch (b.type) {
    case "ActivityScheduled":
      return {
        kind: {
          type: "ActivityScheduled",
          name: b.name,
          input: b.input,
          ...(b.sessionId !== undefined ? { sessionId: b.sessionId } : {}),
          ...(b.tag !== undefined ? { tag: b.tag } : {}),
          ...(b.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: b.heartbeatTimeoutMs } : {}),
          ...(b.failWhenLost === true ? { failWhenLost: true } : {}),
          ...(b.heartbeatDetails !== undefined ? { heartbeatDetails: b.heartbeatDetails } : {}),
        },
        sourceEventId: null,
      };
    case "TimerCreated":
      return { kind: { type: "TimerCreated", fireAtMs: at.now + b.delayMs }, sourceEventId: null };
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return { kind: { type: b.type, name: b.name }, sourceEventId: null };
    case "SubOrchestrationScheduled":
      return {
        kind: {
          type: "SubOrchestrationScheduled",
          name: b.name,
          instance: b.explicitInstance ?? `${at.instance}::sub::${at.nextEventId}`,
          input: b.input,
          ...(b.version !== undefined ? { version: b.version } : {}),
        },
        sourceEventId: null,
      };
    case "OrchestrationChained":
      return {
        kind: {
          type: "OrchestrationChained",
          name: b.name,
          instance: b.instance,
          input: b.input,
          ...(b.version !== undefined ? { version: b.version } : {}),
        },
        sourceEventId: null,
      };
    case "CustomStatusUpdated":
      return { kind: { type: "CustomStatusUpdated", status: b.status }, sourceEventId: null };
    case "KeyValueSet":
      return { kind: { type: "KeyValueSet", key: b.key, value: b.value, lastUpdatedAtMs: at.now }, sourceEventId: null };
    case "KeyValueCleared":
      return { kind: { type: "KeyValueCleared", key: b.key }, sourceEventId: null };
    case "KeyValuesCleared":
      return { kind: { type: "KeyValuesCleared" }, sourceEventId: null };
    case "SystemCall":
      return { kind: { type: "SystemCall", op: b.op, value: b.op === "utcNow" ? String(at.now) : at.newGuid() }, sourceEventId: null };
    case "PatchMarker":
      return { kind: { type: "PatchMarker", patchId: b.patchId }, sourceEventId: null };
    default:
      return { kind: { type: b.type, reason: b.reason }, sourceEventId: b.target.event?.eventId ?? null };
  }
}

/** Does a completion event fit the kind of schedule it names? */
export function completionFits(kind: ScheduleKind, type: string): boolean {
  switch (type) {
    case "ActivityCompleted":
    case "ActivityFailed":
      return kind === "activity";
    case "TimerFired":
      return kind === "timer";
    case "SubOrchestrationCompleted":
    case "SubOrchestrationFailed":
      return kind === "subOrchestration";
    default:
      return false;
  }
}
