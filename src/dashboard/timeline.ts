// Turns one execution's history into the bars of a timeline: each scheduled piece of work from
// the event that started it to the event that settled it. Shared by the dashboard's instance page
// and `duroxide history`, so both tell the same story.
import type { HistoryEvent } from "../index.js";

export type SpanKind = "activity" | "timer" | "event" | "queue" | "suborchestration";
/** `abandoned`: still open when the execution ended (a lost race, a wait the orchestration stopped caring about). */
export type SpanOutcome = "completed" | "failed" | "cancelled" | "pending" | "abandoned";

export interface TimelineSpan {
  kind: SpanKind;
  /** Activity, event, queue or orchestration name; "timer" for timers. */
  name: string;
  /** Event id of the scheduling event. */
  eventId: number;
  startMs: number;
  /** Null while still pending. */
  endMs: number | null;
  /** Event id of the settling event; null while pending. */
  endEventId: number | null;
  outcome: SpanOutcome;
  /** For activities: 1 for a first attempt, n for the n-th retry-attempt of the same name and input. */
  attempt: number;
  /** Child instance id (sub-orchestrations), session (activities), fire time (timers), error text. */
  detail: string | null;
}

export interface TimelineMarker {
  eventId: number;
  atMs: number;
  /** Event type, e.g. "CustomStatusUpdated", "OrchestrationCompleted". */
  type: string;
  label: string;
}

export interface Timeline {
  startMs: number;
  /** Last event time, or `nowMs` when something is still pending. */
  endMs: number;
  spans: TimelineSpan[];
  markers: TimelineMarker[];
}

function errorText(details: unknown): string {
  if (details && typeof details === "object") {
    const d = details as { message?: unknown; reason?: unknown; kind?: unknown };
    if (typeof d.message === "string" && d.message !== "") return d.message;
    if (typeof d.reason === "string") return `cancelled: ${d.reason}`;
    if (typeof d.kind === "string") return d.kind;
  }
  return "failed";
}

const MARKER_TYPES = new Set<string>([
  "OrchestrationStarted",
  "OrchestrationCompleted",
  "OrchestrationFailed",
  "OrchestrationContinuedAsNew",
  "OrchestrationCancelRequested",
  "OrchestrationChained",
  "CustomStatusUpdated",
  "KeyValueSet",
  "KeyValueCleared",
  "KeyValuesCleared",
]);

function markerLabel(e: HistoryEvent): string {
  switch (e.type) {
    case "OrchestrationStarted":
      return `started ${e.name}@${e.version}`;
    case "OrchestrationCompleted":
      return "completed";
    case "OrchestrationFailed":
      return `failed: ${errorText(e.details)}`;
    case "OrchestrationContinuedAsNew":
      return "continued as new";
    case "OrchestrationCancelRequested":
      return `cancel requested${e.reason ? `: ${e.reason}` : ""}`;
    case "OrchestrationChained":
      return `started ${e.name} as ${e.instance}`;
    case "CustomStatusUpdated":
      return `custom status: ${e.status ?? "(cleared)"}`;
    case "KeyValueSet":
      return `kv ${e.key} set`;
    case "KeyValueCleared":
      return `kv ${e.key} cleared`;
    case "KeyValuesCleared":
      return "kv cleared";
    default:
      return e.type;
  }
}

/** Builds the timeline of one execution; bars still pending are drawn up to `nowMs`. */
export function buildTimeline(events: readonly HistoryEvent[], nowMs: number = Date.now()): Timeline {
  const spans: TimelineSpan[] = [];
  const markers: TimelineMarker[] = [];
  const bySource = new Map<number, TimelineSpan>();
  // Subscriptions per name, oldest first: an arriving event settles the oldest open one.
  const waiting = new Map<string, TimelineSpan[]>();
  // Last settled attempt per activity (name + input), to number retries.
  const lastAttempt = new Map<string, TimelineSpan>();
  const activityKey = new Map<TimelineSpan, string>();

  const open = (s: TimelineSpan) => {
    spans.push(s);
    bySource.set(s.eventId, s);
    return s;
  };
  const settle = (e: HistoryEvent, outcome: SpanOutcome, detail?: string) => {
    const s = e.sourceEventId === null ? undefined : bySource.get(e.sourceEventId);
    if (!s || s.endMs !== null) return;
    s.endMs = e.timestampMs;
    s.endEventId = e.eventId;
    s.outcome = outcome;
    if (detail !== undefined) s.detail = detail;
    const key = activityKey.get(s);
    if (key !== undefined) lastAttempt.set(key, s);
  };
  const base = (e: HistoryEvent, kind: SpanKind, name: string, detail: string | null): TimelineSpan => ({
    kind,
    name,
    eventId: e.eventId,
    startMs: e.timestampMs,
    endMs: null,
    endEventId: null,
    outcome: "pending",
    attempt: 1,
    detail,
  });
  const subscribe = (e: HistoryEvent, kind: "event" | "queue", name: string) => {
    const s = open(base(e, kind, name, null));
    const k = `${kind}\u0000${name}`;
    const list = waiting.get(k) ?? [];
    list.push(s);
    waiting.set(k, list);
  };
  const deliver = (e: HistoryEvent, kind: "event" | "queue", name: string) => {
    const list = waiting.get(`${kind}\u0000${name}`);
    const s = list?.find((x) => x.endMs === null);
    if (!s) return;
    s.endMs = e.timestampMs;
    s.endEventId = e.eventId;
    s.outcome = "completed";
  };

  for (const e of events) {
    switch (e.type) {
      case "ActivityScheduled": {
        const s = base(e, "activity", e.name, e.sessionId ? `session ${e.sessionId}` : null);
        const key = `${e.name}\u0000${e.input}`;
        const prev = lastAttempt.get(key);
        if (prev && prev.outcome === "failed") s.attempt = prev.attempt + 1;
        activityKey.set(s, key);
        open(s);
        break;
      }
      case "ActivityCompleted":
        settle(e, "completed");
        break;
      case "ActivityFailed":
        settle(e, "failed", errorText(e.details));
        break;
      case "ActivityCancelRequested":
        settle(e, "cancelled", e.reason ? `cancelled: ${e.reason}` : undefined);
        break;
      case "TimerCreated":
        open(base(e, "timer", "timer", `fires ${new Date(e.fireAtMs).toISOString()}`));
        break;
      case "TimerFired":
        settle(e, "completed");
        break;
      case "SubOrchestrationScheduled":
        open(base(e, "suborchestration", e.name, e.instance));
        break;
      case "SubOrchestrationCompleted":
        settle(e, "completed");
        break;
      case "SubOrchestrationFailed": {
        const s = e.sourceEventId === null ? undefined : bySource.get(e.sourceEventId);
        settle(e, "failed", s ? `${s.detail ?? ""}: ${errorText(e.details)}` : errorText(e.details));
        break;
      }
      case "SubOrchestrationCancelRequested":
        settle(e, "cancelled");
        break;
      case "ExternalSubscribed":
        subscribe(e, "event", e.name);
        break;
      case "ExternalEvent":
        deliver(e, "event", e.name);
        break;
      case "ExternalSubscribedCancelled":
        settle(e, "cancelled");
        break;
      case "QueueSubscribed":
        subscribe(e, "queue", e.name);
        break;
      case "QueueEventDelivered":
        deliver(e, "queue", e.name);
        break;
      case "QueueSubscriptionCancelled":
        settle(e, "cancelled");
        break;
      default:
        break;
    }
    if (MARKER_TYPES.has(e.type)) markers.push({ eventId: e.eventId, atMs: e.timestampMs, type: e.type, label: markerLabel(e) });
  }

  const startMs = events.length > 0 ? events[0]!.timestampMs : nowMs;
  const lastMs = events.length > 0 ? events[events.length - 1]!.timestampMs : nowMs;
  const ended = events.some((e) => e.type === "OrchestrationCompleted" || e.type === "OrchestrationFailed" || e.type === "OrchestrationContinuedAsNew");
  if (ended)
    for (const s of spans)
      if (s.endMs === null) {
        s.endMs = lastMs;
        s.outcome = "abandoned";
      }
  const pending = spans.some((s) => s.endMs === null);
  return { startMs, endMs: pending ? Math.max(lastMs, nowMs) : lastMs, spans, markers };
}
