// Queue rows of the SQLite store that more than one role writes or probes: inserting orchestrator
// and worker items, moving rows to the dead letters, the "is an instance ready?" probe.
import type { WorkItem } from "../../model/workItems.js";
import { targetInstance } from "../../model/workItems.js";
import { encodeWorkItem } from "./codec.js";
import type { SqliteConnection } from "./connection.js";

/** The oldest visible message whose instance is not locked (or whose lock expired). */
export const ORCH_CANDIDATE_SQL = `SELECT q.id AS id, q.instance_id AS instance_id FROM orchestrator_queue q
  WHERE q.visible_at <= ?
    AND NOT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?)
  ORDER BY q.visible_at, q.id LIMIT 1`;

export function insertOrchItem(conn: SqliteConnection, item: WorkItem, visibleAt: number, now: number): number {
  conn
    .stmt("INSERT INTO orchestrator_queue (instance_id, work_item, item_type, visible_at, attempt_count, created_at) VALUES (?, ?, ?, ?, 0, ?)")
    .run(targetInstance(item), encodeWorkItem(item), item.type, visibleAt, now);
  return visibleAt;
}

/** With a lock token the item is inserted leased (attempt 1, locked until `lockedUntil`). */
export function insertWorkerItem(conn: SqliteConnection, item: WorkItem, now: number, lockToken?: string, lockedUntil?: number): void {
  const a = item.type === "ActivityExecute" ? item : null;
  conn
    .stmt(
      `INSERT INTO worker_queue (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at,
         lock_token, locked_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      encodeWorkItem(item),
      now,
      lockToken === undefined ? 0 : 1,
      a?.instance ?? null,
      a?.executionId ?? null,
      a?.id ?? null,
      a?.sessionId ?? null,
      a?.tag ?? null,
      now,
      lockToken ?? null,
      lockToken === undefined ? null : (lockedUntil ?? null),
    );
}

/** Moves a queue row to the dead letters; returns the dead letter's id. */
export function deadLetter(conn: SqliteConnection, queue: string, id: number, instance: string | null, payload: string, error: string): number {
  const deadLetterId = insertDeadLetter(conn, queue, id, instance, payload, error);
  conn.stmt(`DELETE FROM ${queue === "worker" ? "worker_queue" : "orchestrator_queue"} WHERE id = ?`).run(id);
  return deadLetterId;
}

/** Stores a copy of a queue row as a dead letter (the row itself is left to the caller). */
export function insertDeadLetter(conn: SqliteConnection, queue: string, id: number, instance: string | null, payload: string, error: string): number {
  const r = conn
    .stmt("INSERT INTO dead_letters (queue, original_id, instance_id, payload, error, created_at) VALUES (?, ?, ?, ?, ?, ?)")
    .run(queue, id, instance, payload, error, Date.now());
  return Number(r.lastInsertRowid);
}
