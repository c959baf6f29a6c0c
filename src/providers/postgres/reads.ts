// Reads of the PostgreSQL store outside a turn: an instance's status and its KV values (the
// execution's pending changes over the stored ones).
import type { ExecutionStatus } from "../../model/status.js";
import type { StoredStatus } from "../provider.js";
import { decodeFailure, num, setEntry } from "./codec.js";
import type { PgConnection } from "./connection.js";

export async function readStatus(conn: PgConnection, instance: string): Promise<StoredStatus | null> {
  const t = conn.t;
  const res = await conn.pool.query<{
    orchestration_name: string;
    orchestration_version: string | null;
    current_execution_id: number;
    custom_status: string | null;
    custom_status_version: number;
    parent_instance_id: string | null;
    status: ExecutionStatus | null;
    output: string | null;
    failure: string | null;
    suspension: string | null;
  }>(
    // A suspension counts only while the history is where it stood (see migration 7).
    `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, i.custom_status,
            i.custom_status_version, i.parent_instance_id, e.status, e.output, e.failure,
            CASE WHEN i.suspension IS NOT NULL AND i.suspended_execution = i.current_execution_id
                  AND i.suspended_last_event = (SELECT COALESCE(MAX(h.event_id), 0) FROM ${t.history} h
                                                WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id)
                 THEN i.suspension END AS suspension
     FROM ${t.instances} i LEFT JOIN ${t.executions} e
       ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
     WHERE i.instance_id = $1`,
    [instance],
  );
  const row = res.rows[0];
  if (row === undefined) return null;
  return {
    orchestrationName: row.orchestration_name,
    orchestrationVersion: row.orchestration_version,
    executionId: num(row.current_execution_id),
    status: row.status ?? "Running",
    output: row.output,
    failure: decodeFailure(row.failure),
    customStatus: row.custom_status,
    customStatusVersion: num(row.custom_status_version),
    parentInstanceId: row.parent_instance_id,
    suspension: decodeFailure(row.suspension),
  };
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
  const res = await conn.pool.query<{ src: string; key: string; value: string | null }>(
    `SELECT 's' AS src, key, value FROM ${conn.t.kvStore} WHERE instance_id = $1
     UNION ALL
     SELECT 'd' AS src, key, value FROM ${conn.t.kvDelta} WHERE instance_id = $1`,
    [instance],
  );
  const out: Record<string, string> = {};
  for (const r of res.rows) if (r.src === "s" && r.value !== null) setEntry(out, r.key, r.value);
  for (const r of res.rows) {
    if (r.src !== "d") continue;
    if (r.value === null) delete out[r.key];
    else setEntry(out, r.key, r.value);
  }
  return out;
}
