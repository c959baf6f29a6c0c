// Row codecs: JSON text in the store <-> typed events and work items, with shape checks so a
// damaged row is detected at read time instead of failing somewhere in the runtime.
import type { HistoryEvent } from "../model/events.js";
import type { ErrorDetailsData } from "../model/errors.js";
import type { WorkItem } from "../model/workItems.js";

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function encodeWorkItem(item: WorkItem): string {
  return JSON.stringify(item);
}

export function decodeWorkItem(text: string): Decoded<WorkItem> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `work item is not valid JSON: ${(err as Error).message}` };
  }
  if (!isRecord(parsed) || typeof parsed["type"] !== "string") {
    return { ok: false, error: "work item has no string 'type'" };
  }
  return { ok: true, value: parsed as unknown as WorkItem };
}

export function encodeEvent(event: HistoryEvent): string {
  return JSON.stringify(event);
}

export function decodeEvent(text: string): Decoded<HistoryEvent> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `history event is not valid JSON: ${(err as Error).message}` };
  }
  if (!isRecord(parsed) || typeof parsed["type"] !== "string" || typeof parsed["eventId"] !== "number") {
    return { ok: false, error: "history event lacks 'type' or 'eventId'" };
  }
  return { ok: true, value: parsed as unknown as HistoryEvent };
}

export function encodeFailure(f: ErrorDetailsData | null | undefined): string | null {
  return f ? JSON.stringify(f) : null;
}

export function decodeFailure(text: string | null): ErrorDetailsData | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? (v as unknown as ErrorDetailsData) : null;
  } catch {
    return null;
  }
}

/** Integer columns: pg gives BIGINT and COUNT as strings unless parsed, SQLite as numbers; accept both. */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  if (typeof v === "bigint") return Number(v);
  return 0;
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

/** Sets an own enumerable property, even for keys like "__proto__" that plain assignment mishandles. */
export function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
