// The SQLite store's orchestrator queue: enqueue and create, the peek-locking fetch of one
// instance (or several, each locked on its own, in one transaction) with all its visible messages, the ack (running the ack plan's statements), abandon,
// suspend and lock renewal. Each write is one BEGIN IMMEDIATE transaction; the provider wraps
// errors and delivers the notifications these return.
import { randomUUID } from "node:crypto";

import { InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError, type DeadLetteredMessage, type ErrorDetailsData } from "../../model/errors.js";
import { targetInstance, type ActivityIdentity, type WorkItem } from "../../model/workItems.js";
import { planAck, TERMINAL_STATUSES, visibleAtOf } from "../ackPlan.js";
import { DEAD_LETTER_NOTICE_TYPE, encodeDeadLetterNotice } from "../deadLetterNotice.js";
import { canCreateInstance, heldLastEventId, kvSnapshotOf, MAX_FETCH_ROUNDS, orchestrationItem, readQueuedMessage, START_TYPES_SQL } from "../fetchAssembly.js";
import { lockErrors } from "../operations.js";
import type {
  CompletionTurn,
  EnqueueOptions,
  FetchOrchestrationOptions,
  OrchestrationAck,
  OrchestrationItem,
  ProviderNotification,
  WorkItemLease,
} from "../provider.js";
import { encodeEvent, encodeFailure } from "./codec.js";
import type { SqliteConnection } from "./connection.js";
import { isConstraintError } from "./errors.js";
import { lastEventId, loadHistory } from "./history.js";
import { deadLetter, insertDeadLetter, insertOrchItem, insertWorkerItem, ORCH_CANDIDATE_SQL } from "./queueRows.js";

interface QueueRow {
  id: number;
  work_item: string;
  attempt_count: number;
}

interface InstanceRow {
  orchestration_name: string;
  orchestration_version: string | null;
  current_execution_id: number;
  suspension: string | null;
}


export class SqliteOrchestratorQueue {
  // Transaction wrappers, built once.
  readonly #txFetch: (max: number, lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined) => OrchestrationItem[];
  readonly #txAck: (lockToken: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>) => ProviderNotification[];
  readonly #txAbandon: (lockToken: string, delayMs: number, ignoreAttempt: boolean) => void;
  readonly #txSuspend: (lockToken: string, error: ErrorDetailsData, delayMs: number) => void;
  readonly #txEnqueue: (item: WorkItem, options: EnqueueOptions) => number;
  readonly #txCreate: (item: WorkItem & { type: "StartOrchestration" }) => number;
  readonly #txCreateWithTurn: (
    item: WorkItem & { type: "StartOrchestration" },
    ack: OrchestrationAck,
    leased: ReadonlyMap<number, WorkItemLease>,
  ) => { applied: true; notes: ProviderNotification[] } | { applied: false; visibleAt: number };

  constructor(private readonly conn: SqliteConnection) {
    this.#txFetch = conn.immediate((max, lockTimeoutMs, options) => this.#fetchInTx(max, lockTimeoutMs, options));
    this.#txAck = conn.immediate((lockToken, ack, leased) => this.#ackInTx(lockToken, ack, leased));
    this.#txAbandon = conn.immediate((lockToken, delayMs, ignoreAttempt) => this.#abandonInTx(lockToken, delayMs, ignoreAttempt));
    this.#txSuspend = conn.immediate((lockToken, error, delayMs) => {
      // The messages wait (no attempt counted: a suspension never poisons), the instance shows why.
      const instance = this.#requireLock("suspendOrchestrationItem", lockToken, Date.now(), true);
      this.#abandonInTx(lockToken, delayMs, true);
      conn.stmt("UPDATE instances SET suspension = ? WHERE instance_id = ?").run(encodeFailure(error), instance);
    });
    this.#txEnqueue = conn.immediate((item, options) => this.#enqueueInTx(item, options));
    this.#txCreate = conn.immediate((item) => this.#createInTx(item));
    this.#txCreateWithTurn = conn.immediate((item, ack, leased) => {
      const instance = item.instance;
      if (this.#existsOrQueued(instance)) throw new InstanceAlreadyExistsError(instance);
      // A live lock or a visible message (sent before the instance existed) would be part of its
      // first fetched turn: then the start is queued as createInstance queues it.
      const busy = conn
        .stmt(
          `SELECT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = @instance AND l.locked_until > @now)
             OR EXISTS (SELECT 1 FROM orchestrator_queue q WHERE q.instance_id = @instance AND q.visible_at <= @visibleNow) AS busy`,
        )
        .get({ instance, now: Date.now(), visibleNow: conn.clock.now() }) as { busy: number };
      if (busy.busy !== 0) return { applied: false, visibleAt: this.#createInTx(item) };
      return { applied: true, notes: this.#applyInTx(instance, ack, leased) };
    });
  }

  /** Is a message visible for an instance nobody holds? */
  hasReady(visibleNow: number, now: number): boolean {
    return this.conn.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) !== undefined;
  }

  /** Up to `max` instances, each locked on its own, in one transaction (empty: none ready). */
  fetch(max: number, lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined): OrchestrationItem[] {
    // A plain read first: an empty (or fully locked) queue costs no write transaction.
    if (!this.hasReady(this.conn.clock.now(), Date.now())) return [];
    return this.#txFetch(Math.max(1, Math.floor(max)), lockTimeoutMs, options);
  }

  #fetchInTx(max: number, lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined): OrchestrationItem[] {
    const now = Date.now();
    const visibleNow = this.conn.clock.now();
    const items: OrchestrationItem[] = [];
    // Each instance may spend rounds on lost races, dead letters and orphans, as a single fetch does.
    for (let round = 0; round < MAX_FETCH_ROUNDS + max && items.length < max; round++) {
      const step = this.#lockOne(lockTimeoutMs, options, visibleNow, now);
      if (step === "none") break;
      if (step !== "again") items.push(step);
    }
    const last = items[items.length - 1];
    // Read after every lock of the batch is in: another instance ready now? (Earlier items keep
    // true: the next one was ready.)
    if (last !== undefined) last.moreReady = this.hasReady(visibleNow, now);
    return items;
  }

  /**
   * Locks the next ready instance and reads it (`moreReady` left true for the caller to settle);
   * "again": this round locked nothing (orphans, dead letters) but another may; "none": nothing ready.
   */
  #lockOne(
    lockTimeoutMs: number,
    options: FetchOrchestrationOptions | undefined,
    visibleNow: number,
    now: number,
  ): OrchestrationItem | "again" | "none" {
    const conn = this.conn;
    const cand = conn.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) as { id: number; instance_id: string } | undefined;
    if (cand === undefined) return "none";
    const instance = cand.instance_id;

    const rows = conn
      .stmt("SELECT id, work_item, attempt_count, item_type FROM orchestrator_queue WHERE instance_id = ? AND visible_at <= ? ORDER BY id")
      .all(instance, visibleNow) as (QueueRow & { item_type: string | null })[];
    if (rows.length === 0) {
      // The stored id does not read back as itself (its bytes are not UTF-8: a lone surrogate
      // written before ids were validated reads back as U+FFFD), so no query by value can ever
      // match it and it would hold the head of the queue for good. Move its rows aside by row id.
      const stuck = conn
        .stmt("SELECT id, work_item FROM orchestrator_queue WHERE instance_id = (SELECT instance_id FROM orchestrator_queue WHERE id = ?)")
        .all(cand.id) as QueueRow[];
      for (const r of stuck)
        deadLetter(conn, "orchestrator", r.id, instance, r.work_item, "instance id is not valid UTF-8 (written before ids were validated); it cannot be processed");
      return "again";
    }
    const inst = conn
      .stmt("SELECT orchestration_name, orchestration_version, current_execution_id, suspension FROM instances WHERE instance_id = ?")
      .get(instance) as InstanceRow | undefined;

    const messages: WorkItem[] = [];
    const deadLettered: DeadLetteredMessage[] = [];
    let maxAttempt = 0;
    for (const row of rows) {
      if (row.attempt_count > maxAttempt) maxAttempt = row.attempt_count;
      const read = readQueuedMessage(row.work_item);
      if (read.kind === "message") messages.push(read.item);
      else if (read.kind === "deadLettered") deadLettered.push(read.notice);
      else if (inst === undefined) {
        // No instance yet (a start in this batch may create one): moved, reported this once.
        const deadLetterId = deadLetter(conn, "orchestrator", row.id, instance, row.work_item, read.error);
        deadLettered.push({ deadLetterId, messageId: row.id, kind: row.item_type, error: read.error });
      } else {
        // Kept as a dead letter; the row stays as a notice until a turn of its instance is acked.
        const deadLetterId = insertDeadLetter(conn, "orchestrator", row.id, instance, row.work_item, read.error);
        const m: DeadLetteredMessage = { deadLetterId, messageId: row.id, kind: row.item_type, error: read.error };
        conn.stmt("UPDATE orchestrator_queue SET work_item = ?, item_type = ? WHERE id = ?").run(encodeDeadLetterNotice(m), DEAD_LETTER_NOTICE_TYPE, row.id);
        deadLettered.push(m);
      }
    }
    // Everything was unreadable and the instance does not exist: nothing to report; look again.
    if (messages.length === 0 && deadLettered.length === 0) return "again";

    if (inst === undefined && !canCreateInstance(messages)) {
      // No instance and nothing in this batch can create one.
      const pending = conn
        .stmt(`SELECT MIN(visible_at) AS v FROM orchestrator_queue WHERE instance_id = ? AND item_type IN ${START_TYPES_SQL}`)
        .get(instance) as { v: number | null };
      if (pending.v !== null && pending.v > visibleNow) {
        // A delayed start is queued: hold these messages back until it becomes visible.
        conn
          .stmt("UPDATE orchestrator_queue SET visible_at = ?, lock_token = NULL WHERE instance_id = ? AND visible_at <= ?")
          .run(pending.v, instance, visibleNow);
      } else {
        // Orphans can never be processed; drop them so they never block other instances.
        conn.stmt("DELETE FROM orchestrator_queue WHERE instance_id = ? AND visible_at <= ?").run(instance, visibleNow);
      }
      return "again";
    }

    const token = randomUUID();
    conn
      .stmt(
        `INSERT INTO instance_locks (instance_id, lock_token, locked_until, locked_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(instance_id) DO UPDATE SET lock_token = excluded.lock_token,
           locked_until = excluded.locked_until, locked_at = excluded.locked_at`,
      )
      .run(instance, token, now + lockTimeoutMs, now);
    conn
      .stmt("UPDATE orchestrator_queue SET lock_token = ?, attempt_count = attempt_count + 1 WHERE instance_id = ? AND visible_at <= ?")
      .run(token, instance, visibleNow);

    const executionId = inst?.current_execution_id ?? 1;
    // The current execution's history, or nothing of it when the caller already holds all of it.
    const held = inst !== undefined ? heldLastEventId(options?.knownHistory, instance, executionId) : null;
    const history =
      held !== null && held === lastEventId(conn, instance, executionId)
        ? { heldUpTo: held }
        : inst !== undefined
          ? loadHistory(conn, instance, executionId)
          : { ok: true as const, value: [] };
    const kvRows = conn.stmt("SELECT key, value, last_updated_at_ms FROM kv_store WHERE instance_id = ?").all(instance) as {
      key: string;
      value: string;
      last_updated_at_ms: number;
    }[];

    return orchestrationItem({
      instance,
      stored: inst === undefined ? null : { name: inst.orchestration_name, version: inst.orchestration_version, executionId },
      history,
      messages,
      deadLettered,
      kvSnapshot: kvSnapshotOf(kvRows.map((r) => [r.key, r.value, r.last_updated_at_ms] as const)),
      lockToken: token,
      attemptCount: maxAttempt + 1,
      suspended: inst?.suspension != null,
      moreReady: true,
    });
  }

  /** Validates an orchestration lock token; returns the locked instance. */
  #requireLock(operation: string, lockToken: string, now: number, allowExpired: boolean): string {
    const lock = this.conn.stmt("SELECT instance_id, locked_until FROM instance_locks WHERE lock_token = ?").get(lockToken) as
      | { instance_id: string; locked_until: number }
      | undefined;
    if (lock === undefined) throw lockErrors.instanceNotHeld(operation);
    if (!allowExpired && lock.locked_until <= now) throw lockErrors.instanceExpired(operation);
    return lock.instance_id;
  }

  /** Applies the ack in one transaction; returns the wake-ups to deliver after it commits. */
  ack(lockToken: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>): ProviderNotification[] {
    return this.#txAck(lockToken, ack, leased);
  }

  #ackInTx(lockToken: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>): ProviderNotification[] {
    const instance = this.#requireLock("ackOrchestrationItem", lockToken, Date.now(), false);
    this.conn.stmt("DELETE FROM orchestrator_queue WHERE lock_token = ?").run(lockToken);
    const notes = this.#applyInTx(instance, ack, leased);
    this.conn.stmt("DELETE FROM instance_locks WHERE lock_token = ?").run(lockToken);
    return notes;
  }

  /**
   * Inside a worker ack's transaction (`Provider.ackWorkItemWithTurn`): applies the turn the
   * caller ran for the completion when the instance stands where the turn began — nobody holds a
   * live lock on it, its current execution and that execution's last event are the turn's, and
   * no message of it is visible (it would belong to the turn). Returns the wake-ups to deliver
   * after the commit, or null (nothing written) when the turn does not apply.
   */
  completionTurnInTx(turn: CompletionTurn, leased: ReadonlyMap<number, WorkItemLease>): ProviderNotification[] | null {
    const conn = this.conn;
    const instance = turn.instance;
    // The four conditions in one statement (it runs once per completion).
    const at = conn
      .stmt(
        `SELECT i.current_execution_id AS exec,
           (SELECT MAX(h.event_id) FROM history h WHERE h.instance_id = i.instance_id AND h.execution_id = @exec) AS last,
           EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = i.instance_id AND l.locked_until > @now) AS held,
           EXISTS (SELECT 1 FROM orchestrator_queue q WHERE q.instance_id = i.instance_id AND q.visible_at <= @visibleNow) AS queued
         FROM instances i WHERE i.instance_id = @instance`,
      )
      .get({ instance, exec: turn.executionId, now: Date.now(), visibleNow: conn.clock.now() }) as
      | { exec: number; last: number | null; held: number; queued: number }
      | undefined;
    if (at === undefined || at.held !== 0 || at.exec !== turn.executionId || at.last !== turn.lastEventId || at.queued !== 0) return null;
    return this.#applyInTx(instance, turn.ack, leased);
  }

  /** Writes one turn's ack for an instance this transaction holds (the lock and the consumed messages are the caller's). */
  #applyInTx(instance: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>): ProviderNotification[] {
    const conn = this.conn;
    const op = "ackOrchestrationItem";
    const now = conn.clock.now();
    const md = ack.metadata;
    const exec = ack.executionId;

    const plan = planAck(ack, now);
    // A finished execution's pending timers can fire into nothing: drop them with it.
    if (plan.terminal) conn.stmt("DELETE FROM orchestrator_queue WHERE instance_id = ? AND item_type = 'TimerFired'").run(instance);

    // instances.status mirrors the current execution's status (listing indexes use it). The row
    // is rewritten only when a column that indexes cover changes: writing the same value still
    // rewrites their entries (two more pages per turn). updated_at moves only when the ack
    // changes the instance (a message for a finished instance is consumed without touching it).
    const changed = conn
      .stmt(
        `UPDATE instances SET orchestration_name = @name, orchestration_version = @version, suspension = NULL,
           updated_at = CASE WHEN @changes THEN @now ELSE updated_at END,
           status = CASE WHEN @status IS NOT NULL THEN @status WHEN @exec > current_execution_id THEN 'Running' ELSE status END,
           current_execution_id = MAX(current_execution_id, @exec)
         WHERE instance_id = @instance AND (orchestration_name IS NOT @name OR orchestration_version IS NOT @version
           OR suspension IS NOT NULL OR (@status IS NOT NULL AND status IS NOT @status) OR @exec > current_execution_id)`,
      )
      .run({
        name: md.orchestrationName,
        version: md.orchestrationVersion,
        changes: plan.changesInstance ? 1 : 0,
        now,
        status: md.status ?? null,
        exec,
        instance,
      }).changes;
    const exists =
      changed > 0 ||
      (plan.changesInstance
        ? conn.stmt("UPDATE instances SET updated_at = ? WHERE instance_id = ?").run(now, instance).changes > 0
        : conn.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance) !== undefined);
    if (!exists) {
      conn
        .stmt(
          `INSERT INTO instances (instance_id, orchestration_name, orchestration_version, current_execution_id,
             custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
           VALUES (?, ?, ?, ?, NULL, 0, ?, ?, ?, ?)`,
        )
        .run(instance, md.orchestrationName, md.orchestrationVersion, exec, md.parentInstanceId ?? null, now, now, md.status ?? "Running");
    }
    conn.stmt("INSERT OR IGNORE INTO executions (instance_id, execution_id, status, started_at) VALUES (?, ?, 'Running', ?)").run(instance, exec, now);

    const insertEvent = conn.stmt(
      "INSERT INTO history (instance_id, execution_id, event_id, event_type, event_data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const ev of ack.historyDelta) {
      try {
        insertEvent.run(instance, exec, ev.eventId, ev.type, encodeEvent(ev), now);
      } catch (err) {
        if (isConstraintError(err)) {
          throw new ProviderError(op, `duplicate event id ${ev.eventId} for ${instance} execution ${exec}`, false);
        }
        throw err;
      }
    }

    // KV changes of this execution go to kv_delta (null value: cleared); merged into kv_store when it ends.
    if (plan.kvClearAllAt !== null) {
      conn.stmt("UPDATE kv_delta SET value = NULL, last_updated_at_ms = ? WHERE instance_id = ?").run(plan.kvClearAllAt, instance);
      conn
        .stmt(
          `INSERT INTO kv_delta (instance_id, key, value, last_updated_at_ms)
           SELECT instance_id, key, NULL, ? FROM kv_store WHERE instance_id = ?
           ON CONFLICT(instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = excluded.last_updated_at_ms`,
        )
        .run(plan.kvClearAllAt, instance);
    }
    const writeKv = conn.stmt(
      `INSERT INTO kv_delta (instance_id, key, value, last_updated_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms`,
    );
    for (const w of plan.kvWrites) writeKv.run(instance, w.key, w.value, w.at);

    if (md.status !== undefined) {
      conn
        .stmt("UPDATE executions SET status = ?, output = ?, failure = ?, completed_at = ? WHERE instance_id = ? AND execution_id = ?")
        .run(md.status, md.output ?? null, encodeFailure(md.failure), TERMINAL_STATUSES.has(md.status) ? now : null, instance, exec);
    }
    if (plan.customStatus !== null) {
      conn
        .stmt("UPDATE instances SET custom_status = ?, custom_status_version = custom_status_version + 1 WHERE instance_id = ?")
        .run(plan.customStatus.value, instance);
    }
    if (plan.terminal) {
      conn
        .stmt(
          `INSERT INTO kv_store (instance_id, key, value, last_updated_at_ms)
           SELECT instance_id, key, value, last_updated_at_ms FROM kv_delta WHERE instance_id = ? AND value IS NOT NULL
           ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms`,
        )
        .run(instance);
      conn
        .stmt("DELETE FROM kv_store WHERE instance_id = ? AND key IN (SELECT key FROM kv_delta WHERE instance_id = ? AND value IS NULL)")
        .run(instance, instance);
      conn.stmt("DELETE FROM kv_delta WHERE instance_id = ?").run(instance);
    }

    const notes: ProviderNotification[] = [];
    // The worker queue runs on real time (activities are real work), whatever the clock says.
    const realNow = Date.now();
    const leaseUntil = realNow + (ack.leaseWorkerItems?.lockTimeoutMs ?? 0);
    ack.workerItems.forEach((w, k) => insertWorkerItem(conn, w, realNow, leased.get(k)?.lockToken, leaseUntil));
    // Items leased to the caller need nobody woken.
    if (ack.workerItems.length > leased.size) notes.push({ kind: "worker" });

    const cancelled: ActivityIdentity[] = [];
    const delWorker = conn.stmt("DELETE FROM worker_queue WHERE instance_id = ? AND execution_id = ? AND activity_id = ?");
    for (const c of ack.cancelledActivities) {
      if (delWorker.run(c.instance, c.executionId, c.activityId).changes > 0) cancelled.push(c);
    }

    for (const o of plan.orchestratorItems) insertOrchItem(conn, o.item, o.visibleAt, now);

    for (const t of plan.wakeTimes) notes.push({ kind: "orchestrator", visibleAtMs: t });
    notes.push({ kind: "instanceChanged", instance, changes: plan.changes });
    if (cancelled.length > 0) notes.push({ kind: "activitiesCancelled", activities: cancelled });
    return notes;
  }

  abandon(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    this.#txAbandon(lockToken, delayMs, ignoreAttempt);
  }

  #abandonInTx(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    this.#requireLock("abandonOrchestrationItem", lockToken, Date.now(), true);
    const now = this.conn.clock.now();
    this.conn
      .stmt(
        `UPDATE orchestrator_queue SET lock_token = NULL,
           visible_at = CASE WHEN ? > 0 THEN ? ELSE visible_at END,
           attempt_count = CASE WHEN ? THEN MAX(0, attempt_count - 1) ELSE attempt_count END
         WHERE lock_token = ?`,
      )
      .run(delayMs, now + delayMs, ignoreAttempt ? 1 : 0, lockToken);
    this.conn.stmt("DELETE FROM instance_locks WHERE lock_token = ?").run(lockToken);
  }

  suspend(lockToken: string, error: ErrorDetailsData, delayMs: number): void {
    this.#txSuspend(lockToken, error, delayMs);
  }

  renewLock(lockToken: string, extendMs: number): void {
    const now = Date.now();
    const r = this.conn.stmt("UPDATE instance_locks SET locked_until = ? WHERE lock_token = ? AND locked_until > ?").run(now + extendMs, lockToken, now);
    if (r.changes === 0) throw lockErrors.instanceNotRenewed("renewOrchestrationItemLock");
  }

  #existsOrQueued(instance: string): boolean {
    if (this.conn.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance) !== undefined) return true;
    return this.conn.stmt(`SELECT 1 AS x FROM orchestrator_queue WHERE instance_id = ? AND item_type IN ${START_TYPES_SQL} LIMIT 1`).get(instance) !== undefined;
  }

  /** Queues a message; returns when it becomes visible. */
  enqueue(item: WorkItem, options: EnqueueOptions): number {
    return this.#txEnqueue(item, options);
  }

  #enqueueInTx(item: WorkItem, options: EnqueueOptions): number {
    const now = this.conn.clock.now();
    const target = targetInstance(item);
    if (options.requireInstance === true && !this.#existsOrQueued(target)) throw new InstanceNotFoundError(target);
    return insertOrchItem(this.conn, item, visibleAtOf(item, now, options.delayMs), now);
  }

  /** Queues an instance's start unless it exists or a start is queued; returns when it becomes visible. */
  create(item: WorkItem & { type: "StartOrchestration" }): number {
    return this.#txCreate(item);
  }

  #createInTx(item: WorkItem & { type: "StartOrchestration" }): number {
    if (this.#existsOrQueued(item.instance)) throw new InstanceAlreadyExistsError(item.instance);
    const now = this.conn.clock.now();
    return insertOrchItem(this.conn, item, now, now);
  }

  /**
   * `Provider.createInstanceWithTurn` in one transaction: createInstance's check, then the turn's
   * ack applied as for an instance this transaction holds (nothing was queued, so nothing is
   * consumed), or, when the instance is not free, the start queued as createInstance queues it.
   */
  createWithTurn(
    item: WorkItem & { type: "StartOrchestration" },
    ack: OrchestrationAck,
    leased: ReadonlyMap<number, WorkItemLease>,
  ): { applied: true; notes: ProviderNotification[] } | { applied: false; visibleAt: number } {
    return this.#txCreateWithTurn(item, ack, leased);
  }
}
