// Reads of the SQLite store outside a turn: an instance's status, its KV values (the execution's
// pending changes over the stored ones), and what work is pending (for idle detection).
import { mergeKvValues, storedStatusOf, type KvRow, type StatusRow } from "../instanceReads.js";
import type { PendingWork, StoredStatus } from "../provider.js";
import type { SqliteConnection } from "./connection.js";
import { ORCH_CANDIDATE_SQL } from "./queueRows.js";

export function readStatus(conn: SqliteConnection, instance: string): StoredStatus | null {
  const row = conn
    .stmt(
      `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, i.custom_status,
              i.custom_status_version, i.parent_instance_id, i.suspension, e.status, e.output, e.failure
       FROM instances i LEFT JOIN executions e
         ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
       WHERE i.instance_id = ?`,
    )
    .get(instance) as StatusRow | undefined;
  return row === undefined ? null : storedStatusOf(row);
}

export function readKvValue(conn: SqliteConnection, instance: string, key: string): string | null {
  const d = conn.stmt("SELECT value FROM kv_delta WHERE instance_id = ? AND key = ?").get(instance, key) as { value: string | null } | undefined;
  if (d !== undefined) return d.value;
  const s = conn.stmt("SELECT value FROM kv_store WHERE instance_id = ? AND key = ?").get(instance, key) as { value: string } | undefined;
  return s?.value ?? null;
}

export function readKvAllValues(conn: SqliteConnection, instance: string): Record<string, string> {
  const stored = conn.stmt("SELECT key, value FROM kv_store WHERE instance_id = ?").all(instance) as KvRow[];
  const changes = conn.stmt("SELECT key, value FROM kv_delta WHERE instance_id = ?").all(instance) as KvRow[];
  return mergeKvValues(stored, changes);
}

export function readPendingWork(conn: SqliteConnection): PendingWork {
  const now = Date.now();
  const visibleNow = conn.clock.now();
  const orchRunnable = conn.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) !== undefined;
  const workRunnable =
    conn.stmt("SELECT 1 AS x FROM worker_queue WHERE visible_at <= ? AND (lock_token IS NULL OR locked_until <= ?) LIMIT 1").get(now, now) !== undefined;
  const locked = (conn.stmt("SELECT COUNT(*) AS n FROM instance_locks WHERE locked_until > ?").get(now) as { n: number }).n;
  const running = conn
    .stmt("SELECT instance_id, execution_id, activity_id FROM worker_queue WHERE lock_token IS NOT NULL AND locked_until > ?")
    .all(now) as { instance_id: string; execution_id: number; activity_id: number }[];
  const next = conn.stmt("SELECT MIN(visible_at) AS t FROM orchestrator_queue WHERE visible_at > ?").get(visibleNow) as { t: number | null };
  return {
    runnable: orchRunnable || workRunnable,
    lockedInstances: locked,
    runningActivities: running.map((r) => ({ instance: r.instance_id, executionId: r.execution_id, activityId: r.activity_id })),
    nextVisibleAtMs: next.t,
  };
}
