// History reads of the PostgreSQL store: one execution's events in order (decoded by
// fetchAssembly.ts) and the latest execution's history.
import type { HistoryEvent } from "../../model/events.js";
import { ProviderError } from "../../model/errors.js";
import { decodeHistory } from "../fetchAssembly.js";
import type { Decoded } from "./codec.js";
import type { PgConnection } from "./connection.js";

export async function loadHistory(conn: PgConnection, instance: string, executionId: number): Promise<Decoded<HistoryEvent[]>> {
  const res = await conn.pool.query<{ eventId: number; data: string }>(
    `SELECT event_id AS "eventId", event_data AS data FROM ${conn.t.history} WHERE instance_id = $1 AND execution_id = $2 ORDER BY event_id`,
    [instance, executionId],
  );
  return decodeHistory(res.rows, instance, executionId);
}

/** One execution's history; a damaged event fails `operation`. */
export async function readHistory(conn: PgConnection, operation: string, instance: string, executionId: number): Promise<HistoryEvent[]> {
  const loaded = await loadHistory(conn, instance, executionId);
  if (!loaded.ok) throw new ProviderError(operation, loaded.error, false);
  return loaded.value;
}

/** The latest execution's history (empty when the instance has none). */
export async function readLatestHistory(conn: PgConnection, instance: string): Promise<HistoryEvent[]> {
  const r = await conn.pool.query<{ m: number | null }>(`SELECT MAX(execution_id) AS m FROM ${conn.t.executions} WHERE instance_id = $1`, [instance]);
  const m = r.rows[0]?.m ?? null;
  if (m === null) return [];
  return readHistory(conn, "read", instance, m);
}
