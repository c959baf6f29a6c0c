// Reads of the PostgreSQL store outside a turn: an instance's status and its KV values (the
// execution's pending changes over the stored ones).
import { mergeKvValues, storedStatusOf, type KvRow, type StatusRow } from "../instanceReads.js";
import type { StoredStatus } from "../provider.js";
import type { PgConnection } from "./connection.js";

/** readStatus's text per schema, built once: the prepared-statement lookup then finds the same string (preparedClient.ts). */
const statusSql = new WeakMap<PgConnection["t"], string>();

function statusSqlOf(t: PgConnection["t"]): string {
  let sql = statusSql.get(t);
  if (sql === undefined) {
    // A suspension counts only while the history is where it stood (see migration 7).
    sql = `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, i.custom_status,
            i.custom_status_version, i.parent_instance_id, e.status, e.output, e.failure,
            CASE WHEN i.suspension IS NOT NULL AND i.suspended_execution = i.current_execution_id
                  AND i.suspended_last_event = (SELECT COALESCE(MAX(h.event_id), 0) FROM ${t.history} h
                                                WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id)
                 THEN i.suspension END AS suspension
     FROM ${t.instances} i LEFT JOIN ${t.executions} e
       ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
     WHERE i.instance_id = $1`;
    statusSql.set(t, sql);
  }
  return sql;
}

export async function readStatus(conn: PgConnection, instance: string): Promise<StoredStatus | null> {
  const res = await conn.pool.query<StatusRow>(statusSqlOf(conn.t), [instance]);
  const row = res.rows[0];
  return row === undefined ? null : storedStatusOf(row);
}

export async function readKvValue(conn: PgConnection, instance: string, key: string): Promise<string | null> {
  const res = await conn.pool.query<{ in_delta: boolean; dv: string | null; sv: string | null }>(
    `SELECT (d.key IS NOT NULL) AS in_delta, d.value AS dv, s.value AS sv
     FROM (SELECT 1) one
     LEFT JOIN ${conn.t.kvDelta} d ON d.instance_id = $1 AND d.key = $2
     LEFT JOIN ${conn.t.kvStore} s ON s.instance_id = $1 AND s.key = $2`,
    [instance, key],
  );
  const row = res.rows[0];
  if (row === undefined) return null;
  return row.in_delta ? row.dv : row.sv;
}

export async function readKvAllValues(conn: PgConnection, instance: string): Promise<Record<string, string>> {
  const res = await conn.pool.query<KvRow & { src: string }>(
    `SELECT 's' AS src, key, value FROM ${conn.t.kvStore} WHERE instance_id = $1
     UNION ALL
     SELECT 'd' AS src, key, value FROM ${conn.t.kvDelta} WHERE instance_id = $1`,
    [instance],
  );
  return mergeKvValues(
    res.rows.filter((r) => r.src === "s"),
    res.rows.filter((r) => r.src === "d"),
  );
}
