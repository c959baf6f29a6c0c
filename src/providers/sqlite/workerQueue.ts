// The SQLite store's worker queue and sessions: enqueue, the fetch that leases one activity or
// several, each on its own, in one transaction (tag filter, session affinity), ack with the completion, renew (heartbeats), abandon, session lock
// renewal and cleanup. Each write is one BEGIN IMMEDIATE transaction; the worker queue runs on
// real time whatever the store's clock says (activities are real work).
import { randomUUID } from "node:crypto";

import type { ActivityIdentity, WorkItem } from "../../model/workItems.js";
import { MAX_FETCH_ROUNDS, readActivity } from "../fetchAssembly.js";
import { lockErrors } from "../operations.js";
import type { FetchWorkOptions, ProviderNotification, TagFilter, WorkItemLease } from "../provider.js";
import type { SqliteConnection } from "./connection.js";
import { deadLetter, insertOrchItem, insertWorkerItem } from "./queueRows.js";

interface WorkerRow {
  id: number;
  work_item: string;
  attempt_count: number;
  session_id: string | null;
  lock_token: string | null;
  heartbeat_details: string | null;
}

function workerFetchSql(filter: TagFilter, withSession: boolean): string {
  let tagCond: string;
  switch (filter.kind) {
    case "defaultOnly":
      tagCond = "w.tag IS NULL";
      break;
    case "tags":
      tagCond = "w.tag IN (SELECT value FROM json_each(@tags))";
      break;
    case "defaultAnd":
      tagCond = "(w.tag IS NULL OR w.tag IN (SELECT value FROM json_each(@tags)))";
      break;
    case "any":
      tagCond = "1";
      break;
    case "none":
      tagCond = "0";
      break;
  }
  const sessionCond = withSession
    ? `(w.session_id IS NULL OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = w.session_id
         AND s.locked_until > @now AND s.worker_id <> @owner))`
    : "w.session_id IS NULL";
  // Two index-driven probes (never-locked rows in id order; rows whose lock expired), merged:
  // in-flight rows at the head of the queue are never scanned.
  const cols = "w.id, w.work_item, w.attempt_count, w.session_id, w.lock_token, w.heartbeat_details";
  const cond = `w.visible_at <= @now AND ${tagCond} AND ${sessionCond}`;
  return `SELECT * FROM (SELECT ${cols} FROM worker_queue w INDEXED BY idx_worker_ready
                           WHERE w.lock_token IS NULL AND ${cond} ORDER BY w.id LIMIT 1)
          UNION ALL
          SELECT * FROM (SELECT ${cols} FROM worker_queue w INDEXED BY idx_worker_expiry
                           WHERE w.lock_token IS NOT NULL AND w.locked_until <= @now AND ${cond} ORDER BY w.id LIMIT 1)
          ORDER BY id LIMIT 1`;
}

function fetchParams(options: FetchWorkOptions, now: number): { now: number; owner: string; tags: string } {
  const f = options.tagFilter;
  return {
    now,
    owner: options.session?.ownerId ?? "",
    tags: JSON.stringify(f.kind === "tags" || f.kind === "defaultAnd" ? f.tags : []),
  };
}

export class SqliteWorkerQueue {
  // Transaction wrappers, built once.
  readonly #txFetch: (max: number, lockTimeoutMs: number, options: FetchWorkOptions) => WorkItemLease[];
  readonly #txAck: (lockToken: string, completion: WorkItem | null) => number | null;
  readonly #txAckTurn: (
    lockToken: string,
    completion: WorkItem,
    applyTurn: () => ProviderNotification[] | null,
  ) => { applied: true; notes: ProviderNotification[] } | { applied: false; visibleAt: number };
  readonly #txRenew: (lockToken: string, extendMs: number, heartbeatDetails: string | null) => void;
  readonly #txAbandon: (lockToken: string, delayMs: number, ignoreAttempt: boolean) => void;

  constructor(private readonly conn: SqliteConnection) {
    this.#txFetch = conn.immediate((max, lockTimeoutMs, options) => this.#fetchInTx(max, lockTimeoutMs, options));
    this.#txAck = conn.immediate((lockToken, completion) => this.#ackInTx(lockToken, completion));
    this.#txAckTurn = conn.immediate((lockToken, completion, applyTurn) => this.#ackTurnInTx(lockToken, completion, applyTurn));
    this.#txRenew = conn.immediate((lockToken, extendMs, heartbeatDetails) => this.#renewInTx(lockToken, extendMs, heartbeatDetails));
    this.#txAbandon = conn.immediate((lockToken, delayMs, ignoreAttempt) => this.#abandonInTx(lockToken, delayMs, ignoreAttempt));
  }

  enqueue(item: WorkItem): void {
    insertWorkerItem(this.conn, item, Date.now());
  }

  /** Up to `max` items, each leased on its own, in one transaction (empty: none ready). */
  fetch(max: number, lockTimeoutMs: number, options: FetchWorkOptions): WorkItemLease[] {
    // A plain read first: an empty queue costs no write transaction.
    const ready = this.conn.stmt(workerFetchSql(options.tagFilter, options.session !== undefined)).get(fetchParams(options, Date.now()));
    if (ready === undefined) return [];
    return this.#txFetch(Math.max(1, Math.floor(max)), lockTimeoutMs, options);
  }

  #fetchInTx(max: number, lockTimeoutMs: number, options: FetchWorkOptions): WorkItemLease[] {
    const conn = this.conn;
    const now = Date.now();
    const session = options.session;
    const select = conn.stmt(workerFetchSql(options.tagFilter, session !== undefined));
    const params = fetchParams(options, now);
    const leases: WorkItemLease[] = [];
    // Each item may spend rounds on unreadable rows, as a single fetch does.
    for (let round = 0; round < MAX_FETCH_ROUNDS + max && leases.length < max; round++) {
      // Items leased above carry a live lock now, so the probe passes over them.
      const row = select.get(params) as WorkerRow | undefined;
      if (row === undefined) break;
      const activity = readActivity(row.work_item);
      if (!activity.ok) {
        deadLetter(conn, "worker", row.id, null, row.work_item, activity.error);
        continue;
      }
      if (row.session_id !== null && session !== undefined) {
        const claimed = conn
          .stmt(
            `INSERT INTO sessions (session_id, worker_id, locked_until, last_activity_at) VALUES (@sid, @owner, @until, @now)
             ON CONFLICT(session_id) DO UPDATE SET worker_id = excluded.worker_id,
               locked_until = CASE WHEN sessions.locked_until > @now THEN MAX(sessions.locked_until, excluded.locked_until)
                                   ELSE excluded.locked_until END,
               last_activity_at = excluded.last_activity_at
             WHERE sessions.worker_id = excluded.worker_id OR sessions.locked_until <= @now`,
          )
          .run({ sid: row.session_id, owner: session.ownerId, until: now + session.lockTimeoutMs, now });
        // Claimed by another owner meanwhile: stop here, as a single fetch would return nothing.
        if (claimed.changes === 0) break;
      }
      const token = randomUUID();
      const item = activity.value;
      // A heartbeating activity is leased for its heartbeat timeout: only heartbeats keep it.
      const leaseMs = typeof item.heartbeatTimeoutMs === "number" && item.heartbeatTimeoutMs > 0 ? item.heartbeatTimeoutMs : lockTimeoutMs;
      conn.stmt("UPDATE worker_queue SET lock_token = ?, locked_until = ?, attempt_count = attempt_count + 1 WHERE id = ?").run(token, now + leaseMs, row.id);
      leases.push({
        item,
        lockToken: token,
        attemptCount: row.attempt_count + 1,
        heartbeatDetails: row.heartbeat_details,
        // Still carrying a token: the previous lease expired unreleased (its holder was lost).
        lapsed: row.lock_token !== null,
        moreReady: true,
      });
    }
    const last = leases[leases.length - 1];
    // Read after every lease of the batch is in: another item ready now?
    if (last !== undefined) last.moreReady = select.get(params) !== undefined;
    return leases;
  }

  #requireLock(operation: string, lockToken: string, now: number): { id: number; session_id: string | null } {
    const row = this.conn.stmt("SELECT id, session_id, locked_until FROM worker_queue WHERE lock_token = ?").get(lockToken) as
      | { id: number; session_id: string | null; locked_until: number | null }
      | undefined;
    if (row === undefined) throw lockErrors.workItemNotFound(operation);
    if (row.locked_until === null || row.locked_until <= now) throw lockErrors.workItemExpired(operation);
    return row;
  }

  #touchSession(sessionId: string | null, now: number): void {
    if (sessionId === null) return;
    this.conn.stmt("UPDATE sessions SET last_activity_at = ? WHERE session_id = ? AND locked_until > ?").run(now, sessionId, now);
  }

  /** Deletes the leased item and queues its completion; returns when the completion becomes visible (null: none). */
  ack(lockToken: string, completion: WorkItem | null): number | null {
    return this.#txAck(lockToken, completion);
  }

  #ackInTx(lockToken: string, completion: WorkItem | null): number | null {
    const now = Date.now();
    const row = this.#requireLock("ackWorkItem", lockToken, now);
    this.conn.stmt("DELETE FROM worker_queue WHERE id = ?").run(row.id);
    this.#touchSession(row.session_id, now);
    if (completion === null) return null;
    return insertOrchItem(this.conn, completion, now, now);
  }

  /**
   * Deletes the leased item and, in the same transaction, stores the turn its completion caused
   * when `applyTurn` can (it returns the turn's wake-ups); otherwise queues the completion.
   */
  ackWithTurn(
    lockToken: string,
    completion: WorkItem,
    applyTurn: () => ProviderNotification[] | null,
  ): { applied: true; notes: ProviderNotification[] } | { applied: false; visibleAt: number } {
    return this.#txAckTurn(lockToken, completion, applyTurn);
  }

  #ackTurnInTx(
    lockToken: string,
    completion: WorkItem,
    applyTurn: () => ProviderNotification[] | null,
  ): { applied: true; notes: ProviderNotification[] } | { applied: false; visibleAt: number } {
    const now = Date.now();
    const row = this.#requireLock("ackWorkItem", lockToken, now);
    this.conn.stmt("DELETE FROM worker_queue WHERE id = ?").run(row.id);
    this.#touchSession(row.session_id, now);
    const notes = applyTurn();
    if (notes !== null) return { applied: true, notes };
    return { applied: false, visibleAt: insertOrchItem(this.conn, completion, now, now) };
  }

  renew(lockToken: string, extendMs: number, heartbeatDetails: string | null): void {
    this.#txRenew(lockToken, extendMs, heartbeatDetails);
  }

  #renewInTx(lockToken: string, extendMs: number, heartbeatDetails: string | null): void {
    const now = Date.now();
    const row = this.#requireLock("renewWorkItemLock", lockToken, now);
    if (heartbeatDetails === null) this.conn.stmt("UPDATE worker_queue SET locked_until = ? WHERE id = ?").run(now + extendMs, row.id);
    else this.conn.stmt("UPDATE worker_queue SET locked_until = ?, heartbeat_details = ? WHERE id = ?").run(now + extendMs, heartbeatDetails, row.id);
    this.#touchSession(row.session_id, now);
  }

  abandon(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    this.#txAbandon(lockToken, delayMs, ignoreAttempt);
  }

  #abandonInTx(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    const now = Date.now();
    const r = this.conn
      .stmt(
        `UPDATE worker_queue SET lock_token = NULL, locked_until = NULL, visible_at = ?,
           attempt_count = CASE WHEN ? THEN MAX(0, attempt_count - 1) ELSE attempt_count END
         WHERE lock_token = ?`,
      )
      .run(now + delayMs, ignoreAttempt ? 1 : 0, lockToken);
    if (r.changes === 0) throw lockErrors.workItemNotFound("abandonWorkItem");
  }

  isActivityPending(id: ActivityIdentity): boolean {
    return (
      this.conn
        .stmt("SELECT 1 AS x FROM worker_queue WHERE instance_id = ? AND execution_id = ? AND activity_id = ? LIMIT 1")
        .get(id.instance, id.executionId, id.activityId) !== undefined
    );
  }

  /** Extends the live, recently active sessions of these owners; returns how many. */
  renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): number {
    const now = Date.now();
    return this.conn
      .stmt(
        `UPDATE sessions SET locked_until = ?
         WHERE worker_id IN (SELECT value FROM json_each(?)) AND locked_until > ? AND last_activity_at > ?`,
      )
      .run(now + extendMs, JSON.stringify(ownerIds), now, now - idleTimeoutMs).changes;
  }

  /** Deletes expired sessions with no queued work; returns how many. */
  cleanupOrphanedSessions(): number {
    const now = Date.now();
    return this.conn
      .stmt(
        `DELETE FROM sessions WHERE locked_until <= ?
           AND NOT EXISTS (SELECT 1 FROM worker_queue w WHERE w.session_id = sessions.session_id)`,
      )
      .run(now).changes;
  }
}
