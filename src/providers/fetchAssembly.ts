// Fetch assembly, once for every store: what a locked queue row holds (a message, the notice of one
// already dead-lettered, or something unreadable), how an execution's history rows decode, when
// the caller already holds the history, and how the locked rows, instance row, history and KV
// rows become the `OrchestrationItem`. Stores only run the SQL that finds and locks the rows.
import type { HistoryEvent } from "../model/events.js";
import type { DeadLetteredMessage } from "../model/errors.js";
import type { WorkItem } from "../model/workItems.js";
import { decodeEvent, decodeWorkItem, num, setEntry, type Decoded } from "./codec.js";
import { decodeDeadLetterNotice } from "./deadLetterNotice.js";
import type { KnownHistory, KvEntry, OrchestrationItem } from "./provider.js";

/** Upper bound of rounds one fetch call spends on lost races, dead letters and orphans. */
export const MAX_FETCH_ROUNDS = 64;

/** The queue item types that create an instance, as an SQL list (`item_type IN ...`). */
export const START_TYPES_SQL = "('StartOrchestration','ContinueAsNew')";

/** Can this batch create its instance (it holds a start or a continue-as-new)? */
export function canCreateInstance(messages: readonly WorkItem[]): boolean {
  return messages.some((m) => m.type === "StartOrchestration" || m.type === "ContinueAsNew");
}

/** What an orchestrator queue row holds. */
export type QueuedMessage =
  | { kind: "message"; item: WorkItem }
  /** A notice left where a message was dead-lettered while its instance existed. */
  | { kind: "deadLettered"; notice: DeadLetteredMessage }
  /** Unreadable: the store moves it to the dead letters. */
  | { kind: "unreadable"; error: string };

export function readQueuedMessage(payload: string): QueuedMessage {
  const notice = decodeDeadLetterNotice(payload);
  if (notice !== null) return { kind: "deadLettered", notice };
  const decoded = decodeWorkItem(payload);
  return decoded.ok ? { kind: "message", item: decoded.value } : { kind: "unreadable", error: decoded.error };
}

/** A worker queue row's activity, or why it cannot run (the store moves it to the dead letters). */
export function readActivity(payload: string): Decoded<WorkItem & { type: "ActivityExecute" }> {
  const decoded = decodeWorkItem(payload);
  if (!decoded.ok) return decoded;
  if (decoded.value.type !== "ActivityExecute") return { ok: false, error: `unexpected ${decoded.value.type} in worker queue` };
  return { ok: true, value: decoded.value };
}

/** An execution's history rows, in event order; the first damaged row fails them all, named. */
export function decodeHistory(rows: Iterable<{ eventId: unknown; data: string }>, instance: string, executionId: number): Decoded<HistoryEvent[]> {
  const out: HistoryEvent[] = [];
  for (const r of rows) {
    const d = decodeEvent(r.data);
    if (!d.ok) return { ok: false, error: `event ${String(r.eventId)} of ${instance} execution ${executionId}: ${d.error}` };
    out.push(d.value);
  }
  return { ok: true, value: out };
}

/** The last event id of this execution the caller holds in memory (null: none of it). */
export function heldLastEventId(known: ReadonlyMap<string, KnownHistory> | undefined, instance: string, executionId: number): number | null {
  const k = known?.get(instance);
  return k !== undefined && k.executionId === executionId ? k.lastEventId : null;
}

/** The KV snapshot of previous executions from its rows. */
export function kvSnapshotOf(rows: Iterable<readonly [key: string, value: string, lastUpdatedAtMs: unknown]>): Record<string, KvEntry> {
  const out: Record<string, KvEntry> = {};
  // Own data properties, so keys such as "__proto__" stay plain data.
  for (const [key, value, at] of rows) setEntry(out, key, { value, lastUpdatedAtMs: num(at) });
  return out;
}

export interface FetchedInstance {
  instance: string;
  /** The instance's row; null while it has none (its first start is among the messages). */
  stored: { name: string | null; version: string | null; executionId: number } | null;
  /** The history: the caller holds all of it up to `heldUpTo`, or it was read (decoded or not). */
  history: { heldUpTo: number } | Decoded<HistoryEvent[]>;
  messages: WorkItem[];
  deadLettered: DeadLetteredMessage[];
  kvSnapshot: Record<string, KvEntry>;
  lockToken: string;
  attemptCount: number;
  /** Set by stores that keep suspensions on the instance row. */
  suspended?: boolean;
  moreReady: boolean;
}

/** The fetched item from what the store locked and read. */
export function orchestrationItem(f: FetchedInstance): OrchestrationItem {
  const h = f.history;
  const held = "heldUpTo" in h;
  return {
    instance: f.instance,
    orchestrationName: f.stored?.name ?? null,
    orchestrationVersion: f.stored?.version ?? null,
    executionId: f.stored?.executionId ?? 1,
    history: held || !h.ok ? [] : h.value,
    historyAfterEventId: held ? h.heldUpTo : 0,
    historyError: held || h.ok ? null : h.error,
    messages: f.messages,
    kvSnapshot: f.kvSnapshot,
    lockToken: f.lockToken,
    attemptCount: f.attemptCount,
    ...(f.suspended !== undefined ? { suspended: f.suspended } : {}),
    ...(f.deadLettered.length > 0 ? { deadLettered: f.deadLettered } : {}),
    moreReady: f.moreReady,
  };
}
