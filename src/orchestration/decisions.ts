// Decisions: what orchestration code asks for. Each becomes one history event, and on replay each
// must match the history event at the same position among decision events.
import type { HistoryEvent, SystemCallOp } from "../model/events.js";
import type { WorkItem } from "../model/workItems.js";
import type { DurableFuture } from "./future.js";

export type ScheduleKind = "activity" | "timer" | "wait" | "queue" | "subOrchestration";

/** A bound schedule: a future waiting for a completion that refers to its event id. */
export interface Schedule {
  kind: ScheduleKind;
  eventId: number;
  future: DurableFuture<unknown>;
  state: "open" | "done" | "cancelled";
  /** Activity or sub-orchestration name, wait/queue name. */
  name: string;
  /** Sub-orchestrations: the child's instance id. */
  childInstance?: string;
}

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
