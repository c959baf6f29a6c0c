// History reads of the SQLite store: one execution's events in order (decoded by fetchAssembly.ts),
// the last stored event id, and the latest execution's history.
import type { HistoryEvent } from "../../model/events.js";
import { ProviderError } from "../../model/errors.js";
import { decodeHistory } from "../fetchAssembly.js";
import type { Decoded } from "./codec.js";
import type { SqliteConnection } from "./connection.js";

export function loadHistory(conn: SqliteConnection, instance: string, executionId: number): Decoded<HistoryEvent[]> {
  const rows = conn
    .stmt("SELECT event_id AS eventId, event_data AS data FROM history WHERE instance_id = ? AND execution_id = ? ORDER BY event_id")
    .all(instance, executionId) as { eventId: number; data: string }[];
  return decodeHistory(rows, instance, executionId);
}

/** The id of the execution's last stored event, or null when it has none. */
export function lastEventId(conn: SqliteConnection, instance: string, executionId: number): number | null {
  const m = conn.stmt("SELECT MAX(event_id) AS m FROM history WHERE instance_id = ? AND execution_id = ?").get(instance, executionId) as {
    m: number | null;
  };
  return m.m;
}

/** One execution's history; a damaged event fails `operation`. */
export function readHistory(conn: SqliteConnection, operation: string, instance: string, executionId: number): HistoryEvent[] {
  const loaded = loadHistory(conn, instance, executionId);
  if (!loaded.ok) throw new ProviderError(operation, loaded.error, false);
  return loaded.value;
}

/** The latest execution's history (empty when the instance has none). */
export function readLatestHistory(conn: SqliteConnection, instance: string): HistoryEvent[] {
  const r = conn.stmt("SELECT MAX(execution_id) AS m FROM executions WHERE instance_id = ?").get(instance) as { m: number | null };
  if (r.m === null) return [];
  return readHistory(conn, "read", instance, r.m);
}
