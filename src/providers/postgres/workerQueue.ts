// The PostgreSQL store's worker queue and sessions: enqueue, the fetch that leases one activity
// (dx_lease_work: FOR UPDATE SKIP LOCKED on the item row plus the session upsert rules), ack with
// the completion (dx_ack_work_lock, which can also lock the completion's instance for the caller;
// dx_ack_work_turn, which can also store the turn the caller ran for it), renew (heartbeats), abandon, session lock renewal and cleanup.
import { randomUUID } from "node:crypto";
import type { PoolClient } from "pg";

import { targetInstance, type ActivityIdentity, type WorkItem } from "../../model/workItems.js";
import { MAX_FETCH_ROUNDS, readActivity } from "../fetchAssembly.js";
import { lockErrors } from "../operations.js";
import type { CompletionTurn, FetchWorkOptions, WorkAckOptions, WorkAckResult, WorkItemLease, WorkTurnAckResult } from "../provider.js";
import { encodeWorkItem, num } from "./codec.js";
import { jsonRowSql, type JsonRow, type PgConnection, type Queryable } from "./connection.js";
import { deadLetter } from "./queueRows.js";
import { duplicateEventError, INLINE_HISTORY_MAX, type LockedInstanceRow, type PgOrchestratorQueue } from "./orchestratorQueue.js";

/** What dx_ack_work_lock (migration 11) returns (dx_ack_work_turn returns it too). */
type WorkAckRow = LockedInstanceRow & { r_deleted: number; r_wake: boolean; r_locked: boolean };
/** A row of dx_lease_work / dx_lease_works (migrations 8 and 13). */
interface LeaseRow {
  r_id: number;
  r_work_item: string;
  r_attempt_count: number;
  r_session_id: string | null;
  r_heartbeat_details: string | null;
  r_lapsed: boolean;
  r_more: boolean | null;
}

/** What dx_ack_work_turn (migration 15) returns. */
type WorkTurnRow = WorkAckRow & { r_applied: boolean; r_next_visible: number | null; r_cancelled: [string, number, number][] | null };

interface AckArgs {
  target: string | null;
  lock: WorkAckOptions["lockInstance"];
  instanceToken: string | null;
  params: unknown[];
}

/**
 * The arguments dx_lease_work and dx_lease_works share: now, the token(s), the lock's end, the tag
 * filter as a mode (0 default only, 1 these tags, 2 default and these, 3 any) with its tags, and
 * the session owner with its lock's end (null without sessions).
 */
function leaseArgs(now: number, tokens: string | string[], lockTimeoutMs: number, options: FetchWorkOptions): unknown[] {
  const f = options.tagFilter;
  const mode = f.kind === "defaultOnly" ? 0 : f.kind === "tags" ? 1 : f.kind === "defaultAnd" ? 2 : 3;
  const tags = f.kind === "tags" || f.kind === "defaultAnd" ? f.tags : [];
  const session = options.session;
  return [now, tokens, now + lockTimeoutMs, mode, tags, session?.ownerId ?? null, session !== undefined ? now + session.lockTimeoutMs : null];
}

export class PgWorkerQueue {
  /** The hot statements' texts, built once (see PgOrchestratorQueue's). */
  readonly #sql: { leaseWorks: string; leaseWork: string; ackWorkLock: string; ackWorkTurn: string };

  constructor(
    private readonly conn: PgConnection,
    /** Shapes an instance a worker ack locked for the caller into the item a fetch returns. */
    private readonly orchestrator: Pick<PgOrchestratorQueue, "lockedItem" | "encodeAck" | "acked">,
  ) {
    const schema = conn.t.schema;
    this.#sql = {
      leaseWorks: jsonRowSql(`${schema}.dx_lease_works($1, $2, $3, $4, $5, $6, $7)`),
      leaseWork: jsonRowSql(`${schema}.dx_lease_work($1, $2, $3, $4, $5, $6, $7)`),
      ackWorkLock: jsonRowSql(`${schema}.dx_ack_work_lock($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
      ackWorkTurn: jsonRowSql(`${schema}.dx_ack_work_turn($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`),
    };
  }

  async #insert(q: Queryable, items: readonly WorkItem[], now: number): Promise<void> {
    const a = items.map((i) => (i.type === "ActivityExecute" ? i : null));
    await q.query(
      `INSERT INTO ${this.conn.t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at)
       SELECT u.work_item, $1, 0, u.instance_id, u.execution_id, u.activity_id, u.session_id, u.tag, $1
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
         WITH ORDINALITY AS u(work_item, instance_id, execution_id, activity_id, session_id, tag, ord)
       ORDER BY u.ord`,
      [
        now,
        items.map((i) => encodeWorkItem(i)),
        a.map((x) => x?.instance ?? null),
        a.map((x) => x?.executionId ?? null),
        a.map((x) => x?.id ?? null),
        a.map((x) => x?.sessionId ?? null),
        a.map((x) => x?.tag ?? null),
      ],
    );
  }

  async enqueue(item: WorkItem): Promise<void> {
    await this.conn.tx(async (c, notes) => {
      await this.#insert(c, [item], Date.now());
      notes.push({ kind: "worker" });
    });
  }

  async fetch(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
      const step = await this.#fetchStep(lockTimeoutMs, options);
      if (step === "retry") continue;
      return step;
    }
    return null;
  }

  /**
   * Up to `max` items in one round trip of `dx_lease_works` (migration 13), each leased as
   * `#fetchStep` leases one, with its own token. An unreadable item is moved to the dead letters
   * and left out; when every one is, the call is made again, as a single fetch goes another round.
   */
  async fetchMany(max: number, lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease[]> {
    const n = Math.max(1, Math.floor(max));
    const conn = this.conn;
    for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
      const now = Date.now();
      const tokens = Array.from({ length: n }, () => randomUUID());
      const res = await conn.pool.query<JsonRow<LeaseRow & { r_token: string | null }>>(
        this.#sql.leaseWorks,
        leaseArgs(now, tokens, lockTimeoutMs, options),
      );
      if (res.rows.length === 0) return [];
      const leases: WorkItemLease[] = [];
      let more = true;
      let skipped = false;
      for (const { r: row } of res.rows) {
        if (row.r_token === null) {
          // The closing row: was more ready with these leases in place?
          more = row.r_more !== false;
          continue;
        }
        const lease = await this.#leaseOf(row, row.r_token, true);
        if (lease === "retry") skipped = true;
        else leases.push(lease);
      }
      const last = leases[leases.length - 1];
      if (last === undefined) continue;
      last.moreReady = more || skipped;
      return leases;
    }
    return [];
  }

  /**
   * One attempt through `dx_lease_work` (migration 5), one autocommitted round trip: the oldest
   * visible, unlocked item the tag filter allows (FOR UPDATE SKIP LOCKED) whose session is free or
   * ours, the session claimed when it has one, the item locked with a new token (for its heartbeat
   * timeout when it has one).
   */
  async #fetchStep(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null | "retry"> {
    const conn = this.conn;
    const now = Date.now();
    const token = randomUUID();
    const res = await conn.pool.query<JsonRow<LeaseRow>>(
      this.#sql.leaseWork,
      leaseArgs(now, token, lockTimeoutMs, options),
    );
    const row = res.rows[0]?.r;
    if (row === undefined) return null;
    return this.#leaseOf(row, token, row.r_more !== false);
  }

  /** A leased row as the lease the runtime gets; "retry": it was unreadable and is moved to the dead letters. */
  async #leaseOf(row: LeaseRow, token: string, moreReady: boolean): Promise<WorkItemLease | "retry"> {
    const conn = this.conn;
    const activity = readActivity(row.r_work_item);
    if (!activity.ok) {
      const error = activity.error;
      await conn.tx(async (c) => {
        // Still ours (locked by this token): move it aside.
        const mine = await c.query(`SELECT 1 FROM ${conn.t.workerQueue} WHERE id = $1 AND lock_token = $2 FOR UPDATE`, [row.r_id, token]);
        if (mine.rows.length > 0) await deadLetter(conn, c, "worker", num(row.r_id), null, row.r_work_item, error);
      });
      return "retry";
    }
    return {
      item: activity.value,
      lockToken: token,
      attemptCount: row.r_attempt_count,
      heartbeatDetails: row.r_heartbeat_details,
      lapsed: row.r_lapsed === true,
      moreReady,
    };
  }

  async ack(lockToken: string, completion: WorkItem | null, options: WorkAckOptions | undefined): Promise<WorkAckResult> {
    const t = this.conn.t;
    const now = Date.now();
    const a = this.#ackArgs(lockToken, completion, options, now);
    // One call of dx_ack_work_lock (migration 11): delete (only while our lock is valid), bump the
    // session and enqueue the completion, all or nothing. Asked to, it also locks the completion's
    // instance for us when it is free and returns it as a fetch would. Otherwise it tells whether
    // anyone needs waking: not while the instance is locked by a live turn, whose ack finds the
    // message and wakes its own process (see the orchestrator queue's pendingWake).
    const conn = this.conn;
    // Alone, or with other writes in one dx_batch call (groupCommit.ts): same function, same row.
    const row = await conn.writes.run<WorkAckRow | undefined>({
      // The completion's instance is the lock it blocks on (none without a completion).
      key: a.target !== null ? conn.lockPrefix + a.target : "",
      call: () => JSON.stringify(["work", ...a.params]),
      alone: async () =>
        (await conn.pool.query<JsonRow<WorkAckRow>>(this.#sql.ackWorkLock, a.params)).rows[0]?.r,
    });
    return this.#answered(lockToken, completion, a, row, now);
  }

  /**
   * The worker ack with the turn its completion causes (`Provider.ackWorkItemWithTurn`): one call
   * of dx_ack_work_turn (migration 15), which applies the turn's plan (dx_ack_plan) in the ack's
   * own transaction when the instance stands where the turn began, or else does what `ack` does.
   */
  async ackWithTurn(lockToken: string, completion: WorkItem, turn: CompletionTurn, options: WorkAckOptions | undefined): Promise<WorkTurnAckResult> {
    const t = this.conn.t;
    const now = Date.now();
    const a = this.#ackArgs(lockToken, completion, options, now);
    const encoded = this.orchestrator.encodeAck(turn.ack, now);
    const conn = this.conn;
    const params = [...a.params, turn.executionId, turn.lastEventId, randomUUID(), encoded.json];
    let row: WorkTurnRow | undefined;
    try {
      // Alone, or with other writes in one dx_batch call (groupCommit.ts): same function, same row.
      row = await conn.writes.run<WorkTurnRow | undefined>({
        key: conn.lockPrefix + turn.instance,
        call: () => `${JSON.stringify(["turn", ...params.slice(0, -1)]).slice(0, -1)},${encoded.json}]`,
        alone: async () =>
          (
            await conn.pool.query<JsonRow<WorkTurnRow>>(this.#sql.ackWorkTurn, params)
          ).rows[0]?.r,
      });
    } catch (err) {
      throw duplicateEventError(err, "ackWorkItem", turn.ack.executionId);
    }
    if (row !== undefined && row.r_applied === true) {
      const r = this.orchestrator.acked(turn.instance, turn.ack, encoded, row.r_next_visible, row.r_cancelled);
      return { applied: true, leases: r.leases };
    }
    const { item } = await this.#answered(lockToken, completion, a, row, now);
    return { applied: false, item };
  }

  /** The arguments dx_ack_work_lock takes (dx_ack_work_turn takes them first). */
  #ackArgs(lockToken: string, completion: WorkItem | null, options: WorkAckOptions | undefined, now: number): AckArgs {
    const target = completion === null ? null : targetInstance(completion);
    const lock = completion !== null ? options?.lockInstance : undefined;
    const instanceToken = lock !== undefined ? randomUUID() : null;
    const known = lock !== undefined && target !== null ? lock.knownHistory?.get(target) : undefined;
    return {
      target,
      lock,
      instanceToken,
      params: [
        lockToken,
        now,
        this.conn.lockPrefix,
        target,
        completion === null ? null : encodeWorkItem(completion),
        completion === null ? null : completion.type,
        instanceToken,
        lock !== undefined ? now + lock.lockTimeoutMs : null,
        INLINE_HISTORY_MAX,
        known?.executionId ?? null,
        known?.lastEventId ?? null,
      ],
    };
  }

  /** What a dx_ack_work_lock answer means: an error (lock lost), the instance handed over, or a wake-up. */
  async #answered(lockToken: string, completion: WorkItem | null, a: AckArgs, row: WorkAckRow | undefined, now: number): Promise<WorkAckResult> {
    const t = this.conn.t;
    const { target, lock, instanceToken } = a;
    if ((row?.r_deleted ?? 0) === 0) {
      const why = await this.conn.pool.query(`SELECT 1 FROM ${t.workerQueue} WHERE lock_token = $1`, [lockToken]);
      throw why.rows.length > 0 ? lockErrors.workItemExpired("ackWorkItem") : lockErrors.workItemNotFound("ackWorkItem");
    }
    if (row !== undefined && row.r_locked === true && target !== null && instanceToken !== null) {
      // The completion is committed; what follows only shapes the locked instance into an item
      // (or releases it on the rare follow-up paths, as a fetch would).
      try {
        const step = await this.orchestrator.lockedItem(target, row, instanceToken, now, lock, true);
        return { item: step.kind === "item" ? step.item : null };
      } catch {
        // The lock we could not hand over expires, and the instance is fetched as usual then.
        return { item: null };
      }
    }
    if (completion !== null && row?.r_wake === true) this.conn.committed([{ kind: "orchestrator", visibleAtMs: now }]);
    return { item: null };
  }

  async #requireLock(c: PoolClient, operation: string, lockToken: string, now: number): Promise<{ id: number; session_id: string | null }> {
    const res = await c.query<{ id: number; session_id: string | null; locked_until: number | null }>(
      `SELECT id, session_id, locked_until FROM ${this.conn.t.workerQueue} WHERE lock_token = $1 FOR UPDATE`,
      [lockToken],
    );
    const row = res.rows[0];
    if (row === undefined) throw lockErrors.workItemNotFound(operation);
    if (row.locked_until === null || num(row.locked_until) <= now) throw lockErrors.workItemExpired(operation);
    return row;
  }

  async #touchSession(c: PoolClient, sessionId: string | null, now: number): Promise<void> {
    if (sessionId === null) return;
    await c.query(`UPDATE ${this.conn.t.sessions} SET last_activity_at = $2 WHERE session_id = $1 AND locked_until > $2`, [sessionId, now]);
  }

  async renew(lockToken: string, extendMs: number, heartbeatDetails: string | undefined): Promise<void> {
    const t = this.conn.t;
    await this.conn.tx(async (c) => {
      const now = Date.now();
      const row = await this.#requireLock(c, "renewWorkItemLock", lockToken, now);
      if (heartbeatDetails === undefined) await c.query(`UPDATE ${t.workerQueue} SET locked_until = $2 WHERE id = $1`, [row.id, now + extendMs]);
      else
        await c.query(`UPDATE ${t.workerQueue} SET locked_until = $2, heartbeat_details = $3 WHERE id = $1`, [row.id, now + extendMs, heartbeatDetails]);
      await this.#touchSession(c, row.session_id, now);
    });
  }

  async abandon(lockToken: string, delay: number, ignoreAttempt: boolean): Promise<void> {
    await this.conn.tx(async (c, notes) => {
      const now = Date.now();
      const r = await c.query(
        `UPDATE ${this.conn.t.workerQueue} SET lock_token = NULL, locked_until = NULL, visible_at = $2,
           attempt_count = CASE WHEN $3::boolean THEN GREATEST(0, attempt_count - 1) ELSE attempt_count END
         WHERE lock_token = $1`,
        [lockToken, now + delay, ignoreAttempt],
      );
      if (r.rowCount === 0) throw lockErrors.workItemNotFound("abandonWorkItem");
      notes.push({ kind: "worker" });
    });
  }

  async isActivityPending(id: ActivityIdentity): Promise<boolean> {
    const r = await this.conn.pool.query(
      `SELECT 1 FROM ${this.conn.t.workerQueue} WHERE instance_id = $1 AND execution_id = $2 AND activity_id = $3 LIMIT 1`,
      [id.instance, id.executionId, id.activityId],
    );
    return r.rows.length > 0;
  }

  /** Extends the live, recently active sessions of these owners; returns how many. */
  async renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    const now = Date.now();
    const r = await this.conn.pool.query(
      `UPDATE ${this.conn.t.sessions} SET locked_until = $2
       WHERE worker_id = ANY($1::text[]) AND locked_until > $3 AND last_activity_at > $4`,
      [ownerIds, now + extendMs, now, now - idleTimeoutMs],
    );
    return r.rowCount ?? 0;
  }

  /** Deletes expired sessions with no queued work; returns how many. */
  async cleanupOrphanedSessions(): Promise<number> {
    const r = await this.conn.pool.query(
      `DELETE FROM ${this.conn.t.sessions} s WHERE s.locked_until <= $1
         AND NOT EXISTS (SELECT 1 FROM ${this.conn.t.workerQueue} w WHERE w.session_id = s.session_id)`,
      [Date.now()],
    );
    return r.rowCount ?? 0;
  }
}
