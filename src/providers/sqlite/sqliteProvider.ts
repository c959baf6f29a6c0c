// Embedded SQLite provider on better-sqlite3.
//
// Every multi-statement operation runs as ONE `BEGIN IMMEDIATE` transaction, so several processes
// may share a file store safely (the write lock serialises them; busy_timeout makes them wait).
// better-sqlite3 is synchronous: each async method does its work before its promise settles.
import { WalCheckpointer } from "./checkpointer.js";
import { Listeners } from "../listeners.js";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { loadDriver } from "../driver.js";

import type { HistoryEvent } from "../../model/events.js";
import { InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError, type DeadLetteredMessage, type ErrorDetailsData } from "../../model/errors.js";
import type { ExecutionStatus } from "../../model/status.js";
import { targetInstance, type ActivityIdentity, type WorkItem } from "../../model/workItems.js";
import type { ProviderAdmin } from "../admin.js";
import type {
  AckResult,
  EnqueueOptions,
  FetchOrchestrationOptions,
  FetchWorkOptions,
  KvEntry,
  NotificationListener,
  OrchestrationAck,
  OrchestrationItem,
  Provider,
  ProviderNotification,
  StoredStatus,
  TagFilter,
  WorkItemLease,
  PendingWork,
} from "../provider.js";
import { leasesOf, planAck, TERMINAL_STATUSES } from "../ackPlan.js";
import { SqliteAdmin } from "./admin.js";
import { decodeEvent, decodeFailure, decodeWorkItem, encodeEvent, encodeFailure, encodeWorkItem } from "./codec.js";
import { isConstraintError, toProviderError } from "./errors.js";
import { migrate } from "./schema.js";
import { parseSqliteUrl } from "./url.js";
import { REAL_CLOCK, type Clock } from "../../model/clock.js";
import { DEAD_LETTER_NOTICE_TYPE, decodeDeadLetterNotice, encodeDeadLetterNotice } from "../deadLetterNotice.js";

export interface SqliteProviderOptions {
  /**
   * `NORMAL` (default, with WAL): committed data survives a process crash; the last transactions
   * may be lost on power failure or OS crash. `FULL`: every commit is fsynced, so it also
   * survives power loss, at some cost in write throughput.
   */
  synchronous?: "NORMAL" | "FULL";
  /**
   * How often a background thread checkpoints the WAL (default 250 ms). 0 turns it off and leaves
   * checkpoints to SQLite's automatic ones inside commits (which block the event loop while they
   * fsync).
   */
  checkpointIntervalMs?: number;
  /**
   * Time for the orchestrator queue's visibility (durable timers, delayed messages) and for stored
   * timestamps (default real time). Locks and leases always use real time, so a clock that jumps
   * never expires a lock that is still held.
   */
  clock?: Clock;
}

type Stmt = Database.Statement<unknown[], unknown>;

/** The oldest visible message whose instance is not locked (or whose lock expired). */
const ORCH_CANDIDATE_SQL = `SELECT q.id AS id, q.instance_id AS instance_id FROM orchestrator_queue q
  WHERE q.visible_at <= ?
    AND NOT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?)
  ORDER BY q.visible_at, q.id LIMIT 1`;

interface QueueRow {
  id: number;
  work_item: string;
  attempt_count: number;
}

interface WorkerRow extends QueueRow {
  session_id: string | null;
  lock_token: string | null;
  heartbeat_details: string | null;
}

interface InstanceRow {
  orchestration_name: string;
  orchestration_version: string | null;
  current_execution_id: number;
  suspension: string | null;
}

interface FetchResult {
  item: OrchestrationItem | null;
}

const START_TYPES = "('StartOrchestration','ContinueAsNew')";
/** Upper bound of rows a single fetch call discards (dead letters, orphans) before giving up. */
const MAX_FETCH_ROUNDS = 64;

/**
 * Switches a file to WAL mode. The switch needs the file to itself, and SQLite answers SQLITE_BUSY
 * at once (the busy timeout does not apply) while another process is opening or switching the
 * same new file, so several processes opening a new store together retry here, briefly.
 */
async function switchToWal(db: Database.Database, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 0; ; n++) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((code !== "SQLITE_BUSY" && code !== "SQLITE_LOCKED") || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** n, 100) * (0.5 + Math.random())));
    }
  }
}

const sqliteDriver = (): typeof Database => loadDriver<typeof Database>("better-sqlite3", "SqliteProvider");

export class SqliteProvider implements Provider {
  readonly name = "sqlite";
  readonly admin: ProviderAdmin;
  /** Absolute path of the database file, or ":memory:". */
  readonly location: string;

  private readonly db: Database.Database;
  private checkpointer: WalCheckpointer | null = null;
  private readonly statements = new Map<string, Stmt>();
  private readonly listeners = new Listeners();
  private closed = false;
  private readonly clock: Clock;

  // Transaction wrappers, built once.
  private readonly txFetchOrch: (lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined) => FetchResult;
  private readonly txAckOrch: (lockToken: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>) => ProviderNotification[];
  private readonly txAbandonOrch: (lockToken: string, delayMs: number, ignoreAttempt: boolean) => void;
  private readonly txSuspendOrch: (lockToken: string, error: ErrorDetailsData, delayMs: number) => void;
  private readonly txEnqueueOrch: (item: WorkItem, options: EnqueueOptions) => number;
  private readonly txCreateInstance: (item: WorkItem & { type: "StartOrchestration" }) => number;
  private readonly txFetchWork: (lockTimeoutMs: number, options: FetchWorkOptions) => WorkItemLease | null;
  private readonly txAckWork: (lockToken: string, completion: WorkItem | null) => number | null;
  private readonly txRenewWork: (lockToken: string, extendMs: number, heartbeatDetails: string | null) => void;
  private readonly txAbandonWork: (lockToken: string, delayMs: number, ignoreAttempt: boolean) => void;

  private constructor(db: Database.Database, location: string, clock: Clock = REAL_CLOCK) {
    this.db = db;
    this.location = location;
    this.clock = clock;
    this.admin = new SqliteAdmin(db, (sql) => this.stmt(sql), (op, err) => toProviderError(op, err));
    const imm = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => {
      const t = db.transaction(fn);
      return (...args: A) => t.immediate(...args);
    };
    this.txFetchOrch = imm((lockTimeoutMs, options) => this.fetchOrchInTx(lockTimeoutMs, options));
    this.txAckOrch = imm((lockToken, ack, leased) => this.ackOrchInTx(lockToken, ack, leased));
    this.txAbandonOrch = imm((lockToken, delayMs, ignoreAttempt) => this.abandonOrchInTx(lockToken, delayMs, ignoreAttempt));
    this.txSuspendOrch = imm((lockToken, error, delayMs) => {
      // The messages wait (no attempt counted: a suspension never poisons), the instance shows why.
      const instance = this.requireOrchLock("suspendOrchestrationItem", lockToken, Date.now(), true);
      this.abandonOrchInTx(lockToken, delayMs, true);
      this.stmt("UPDATE instances SET suspension = ? WHERE instance_id = ?").run(encodeFailure(error), instance);
    });
    this.txEnqueueOrch = imm((item, options) => this.enqueueOrchInTx(item, options));
    this.txCreateInstance = imm((item) => {
      if (this.instanceExistsOrQueued(item.instance)) throw new InstanceAlreadyExistsError(item.instance);
      const now = this.clock.now();
      return this.insertOrchItem(item, now, now);
    });
    this.txFetchWork = imm((lockTimeoutMs, options) => this.fetchWorkInTx(lockTimeoutMs, options));
    this.txAckWork = imm((lockToken, completion) => this.ackWorkInTx(lockToken, completion));
    this.txRenewWork = imm((lockToken, extendMs, heartbeatDetails) => this.renewWorkInTx(lockToken, extendMs, heartbeatDetails));
    this.txAbandonWork = imm((lockToken, delayMs, ignoreAttempt) => this.abandonWorkInTx(lockToken, delayMs, ignoreAttempt));
  }

  // ------------------------------------------------------------------------------------------
  // Factories

  /** Opens (creating if needed) a file store. See `parseSqliteUrl` for the accepted forms. */
  static async open(url: string, options: SqliteProviderOptions = {}): Promise<SqliteProvider> {
    let loc;
    try {
      loc = parseSqliteUrl(url);
    } catch (err) {
      throw new ProviderError("open", (err as Error).message, false);
    }
    if (loc.kind === "memory") return SqliteProvider.inMemory(options);
    const Database = sqliteDriver();
    try {
      mkdirSync(dirname(loc.path), { recursive: true });
      const db = new Database(loc.path);
      try {
        db.pragma("busy_timeout = 10000");
        await switchToWal(db);
        db.pragma(`synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
        db.pragma("cache_size = -65536");
        db.pragma("temp_store = MEMORY");
        db.pragma("foreign_keys = OFF");
        migrate(db);
      } catch (err) {
        db.close();
        throw err;
      }
      const provider = new SqliteProvider(db, loc.path, options.clock);
      const interval = options.checkpointIntervalMs ?? 250;
      if (interval > 0) {
        // The background thread checkpoints; the main connection keeps a large backstop only.
        db.pragma("wal_autocheckpoint = 20000");
        db.pragma("journal_size_limit = 67108864");
        provider.checkpointer = new WalCheckpointer(loc.path, interval);
      }
      return provider;
    } catch (err) {
      throw toProviderError("open", err);
    }
  }

  /** A private in-memory store (lost on close); for tests and throwaway runs. */
  static async inMemory(options: SqliteProviderOptions = {}): Promise<SqliteProvider> {
    const Database = sqliteDriver();
    try {
      const db = new Database(":memory:");
      db.pragma("journal_mode = MEMORY");
      db.pragma("synchronous = OFF");
      db.pragma("foreign_keys = OFF");
      migrate(db);
      return new SqliteProvider(db, ":memory:", options.clock);
    } catch (err) {
      throw toProviderError("open", err);
    }
  }

  /**
   * The underlying better-sqlite3 connection. Escape hatch for tests and tooling (fault injection,
   * inspection); writing to it bypasses every invariant of this provider.
   */
  unsafeRawDatabase(): Database.Database {
    return this.db;
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  private stmt(sql: string): Stmt {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private run<R>(operation: string, fn: () => R): R {
    if (this.closed) throw new ProviderError(operation, "provider is closed", false);
    try {
      return fn();
    } catch (err) {
      throw toProviderError(operation, err);
    }
  }

  private emit(notifications: readonly ProviderNotification[]): void {
    this.listeners.emit(notifications);
  }

  subscribe(listener: NotificationListener): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.statements.clear();
    await this.checkpointer?.close();
    this.db.close();
  }

  // ------------------------------------------------------------------------------------------
  // Orchestrator queue

  async fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null> {
    // A plain read first: an empty (or fully locked) queue costs no write transaction.
    const any = this.run("fetchOrchestrationItem", () => this.stmt(ORCH_CANDIDATE_SQL).get(this.clock.now(), Date.now()) !== undefined);
    if (!any) return null;
    return this.run("fetchOrchestrationItem", () => this.txFetchOrch(lockTimeoutMs, options).item);
  }

  private fetchOrchInTx(lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined): FetchResult {
    const now = Date.now();
    const visibleNow = this.clock.now();
    for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
      const cand = this.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) as { id: number; instance_id: string } | undefined;
      if (cand === undefined) return { item: null };
      const instance = cand.instance_id;

      const rows = this.stmt(
        "SELECT id, work_item, attempt_count, item_type FROM orchestrator_queue WHERE instance_id = ? AND visible_at <= ? ORDER BY id",
      ).all(instance, visibleNow) as (QueueRow & { item_type: string | null })[];
      if (rows.length === 0) {
        // The stored id does not read back as itself (its bytes are not UTF-8: a lone surrogate
        // written before ids were validated reads back as U+FFFD), so no query by value can ever
        // match it and it would hold the head of the queue for good. Move its rows aside by row id.
        const stuck = this.stmt(
          "SELECT id, work_item FROM orchestrator_queue WHERE instance_id = (SELECT instance_id FROM orchestrator_queue WHERE id = ?)",
        ).all(cand.id) as QueueRow[];
        for (const r of stuck) this.deadLetter("orchestrator", r.id, instance, r.work_item, "instance id is not valid UTF-8 (written before ids were validated); it cannot be processed");
        continue;
      }
      const inst = this.stmt(
        "SELECT orchestration_name, orchestration_version, current_execution_id, suspension FROM instances WHERE instance_id = ?",
      ).get(instance) as InstanceRow | undefined;

      const messages: WorkItem[] = [];
      const deadLettered: DeadLetteredMessage[] = [];
      let maxAttempt = 0;
      for (const row of rows) {
        if (row.attempt_count > maxAttempt) maxAttempt = row.attempt_count;
        const notice = decodeDeadLetterNotice(row.work_item);
        if (notice !== null) {
          deadLettered.push(notice);
          continue;
        }
        const decoded = decodeWorkItem(row.work_item);
        if (!decoded.ok) {
          if (inst === undefined) {
            // No instance yet (a start in this batch may create one): moved, reported this once.
            const deadLetterId = this.deadLetter("orchestrator", row.id, instance, row.work_item, decoded.error);
            deadLettered.push({ deadLetterId, messageId: row.id, kind: row.item_type, error: decoded.error });
            continue;
          }
          // Kept as a dead letter; the row stays as a notice until a turn of its instance is acked.
          const deadLetterId = this.insertDeadLetter("orchestrator", row.id, instance, row.work_item, decoded.error);
          const m: DeadLetteredMessage = { deadLetterId, messageId: row.id, kind: row.item_type, error: decoded.error };
          this.stmt("UPDATE orchestrator_queue SET work_item = ?, item_type = ? WHERE id = ?").run(encodeDeadLetterNotice(m), DEAD_LETTER_NOTICE_TYPE, row.id);
          deadLettered.push(m);
          continue;
        }
        messages.push(decoded.value);
      }
      // Everything was unreadable and the instance does not exist: nothing to report; look again.
      if (messages.length === 0 && deadLettered.length === 0) continue;

      if (inst === undefined && !messages.some((m) => m.type === "StartOrchestration" || m.type === "ContinueAsNew")) {
        // No instance and nothing in this batch can create one.
        const pending = this.stmt(
          `SELECT MIN(visible_at) AS v FROM orchestrator_queue WHERE instance_id = ? AND item_type IN ${START_TYPES}`,
        ).get(instance) as { v: number | null };
        if (pending.v !== null && pending.v > visibleNow) {
          // A delayed start is queued: hold these messages back until it becomes visible.
          this.stmt(
            "UPDATE orchestrator_queue SET visible_at = ?, lock_token = NULL WHERE instance_id = ? AND visible_at <= ?",
          ).run(pending.v, instance, visibleNow);
        } else {
          // Orphans can never be processed; drop them so they never block other instances.
          this.stmt("DELETE FROM orchestrator_queue WHERE instance_id = ? AND visible_at <= ?").run(instance, visibleNow);
        }
        continue;
      }

      const token = randomUUID();
      this.stmt(
        `INSERT INTO instance_locks (instance_id, lock_token, locked_until, locked_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(instance_id) DO UPDATE SET lock_token = excluded.lock_token,
           locked_until = excluded.locked_until, locked_at = excluded.locked_at`,
      ).run(instance, token, now + lockTimeoutMs, now);
      this.stmt(
        "UPDATE orchestrator_queue SET lock_token = ?, attempt_count = attempt_count + 1 WHERE instance_id = ? AND visible_at <= ?",
      ).run(token, instance, visibleNow);

      const executionId = inst?.current_execution_id ?? 1;
      let history: HistoryEvent[] = [];
      let historyAfterEventId = 0;
      let historyError: string | null = null;
      const known = inst !== undefined ? options?.knownHistory?.get(instance) : undefined;
      let reuse = false;
      if (known !== undefined && known.executionId === executionId) {
        const m = this.stmt("SELECT MAX(event_id) AS m FROM history WHERE instance_id = ? AND execution_id = ?").get(
          instance,
          executionId,
        ) as { m: number | null };
        reuse = m.m !== null && m.m === known.lastEventId;
      }
      if (reuse && known !== undefined) {
        historyAfterEventId = known.lastEventId;
      } else if (inst !== undefined) {
        const loaded = this.loadHistory(instance, executionId);
        if (loaded.ok) history = loaded.value;
        else historyError = loaded.error;
      }

      const kvRows = this.stmt("SELECT key, value, last_updated_at_ms FROM kv_store WHERE instance_id = ?").all(instance) as {
        key: string;
        value: string;
        last_updated_at_ms: number;
      }[];
      // fromEntries defines own properties, so keys such as "__proto__" stay plain data.
      const kvSnapshot: Record<string, KvEntry> = Object.fromEntries(
        kvRows.map((r): [string, KvEntry] => [r.key, { value: r.value, lastUpdatedAtMs: r.last_updated_at_ms }]),
      );

      return {
        item: {
          instance,
          orchestrationName: inst?.orchestration_name ?? null,
          orchestrationVersion: inst?.orchestration_version ?? null,
          executionId,
          history,
          historyAfterEventId,
          historyError,
          messages,
          kvSnapshot,
          lockToken: token,
          attemptCount: maxAttempt + 1,
          suspended: inst?.suspension != null,
          ...(deadLettered.length > 0 ? { deadLettered } : {}),
          // Read after this instance's lock is in: another instance ready now?
          moreReady: this.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) !== undefined,
        },
      };
    }
    return { item: null };
  }

  private loadHistory(instance: string, executionId: number): { ok: true; value: HistoryEvent[] } | { ok: false; error: string } {
    const rows = this.stmt(
      "SELECT event_id, event_data FROM history WHERE instance_id = ? AND execution_id = ? ORDER BY event_id",
    ).all(instance, executionId) as { event_id: number; event_data: string }[];
    const out: HistoryEvent[] = [];
    for (const r of rows) {
      const d = decodeEvent(r.event_data);
      if (!d.ok) return { ok: false, error: `event ${r.event_id} of ${instance} execution ${executionId}: ${d.error}` };
      out.push(d.value);
    }
    return { ok: true, value: out };
  }

  /** Moves a queue row to the dead letters; returns the dead letter's id. */
  private deadLetter(queue: string, id: number, instance: string | null, payload: string, error: string): number {
    const deadLetterId = this.insertDeadLetter(queue, id, instance, payload, error);
    this.stmt(`DELETE FROM ${queue === "worker" ? "worker_queue" : "orchestrator_queue"} WHERE id = ?`).run(id);
    return deadLetterId;
  }

  /** Stores a copy of a queue row as a dead letter (the row itself is left to the caller). */
  private insertDeadLetter(queue: string, id: number, instance: string | null, payload: string, error: string): number {
    const r = this.stmt(
      "INSERT INTO dead_letters (queue, original_id, instance_id, payload, error, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(queue, id, instance, payload, error, Date.now());
    return Number(r.lastInsertRowid);
  }

  /** Validates an orchestration lock token; returns the locked instance. */
  private requireOrchLock(operation: string, lockToken: string, now: number, allowExpired: boolean): string {
    const lock = this.stmt("SELECT instance_id, locked_until FROM instance_locks WHERE lock_token = ?").get(lockToken) as
      | { instance_id: string; locked_until: number }
      | undefined;
    if (lock === undefined) throw new ProviderError(operation, "invalid lock token (instance lock not held)", false);
    if (!allowExpired && lock.locked_until <= now) throw new ProviderError(operation, "instance lock expired", false);
    return lock.instance_id;
  }

  async ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult> {
    const leased = leasesOf(ack);
    const notes = this.run("ackOrchestrationItem", () => this.txAckOrch(lockToken, ack, leased));
    this.emit(notes);
    return { leases: [...leased.values()] };
  }

  private ackOrchInTx(lockToken: string, ack: OrchestrationAck, leased: ReadonlyMap<number, WorkItemLease>): ProviderNotification[] {
    const op = "ackOrchestrationItem";
    const instance = this.requireOrchLock(op, lockToken, Date.now(), false);
    const now = this.clock.now();
    const md = ack.metadata;
    const exec = ack.executionId;

    this.stmt("DELETE FROM orchestrator_queue WHERE lock_token = ?").run(lockToken);
    const plan = planAck(ack, now);
    // A finished execution's pending timers can fire into nothing: drop them with it.
    if (plan.terminal) this.stmt("DELETE FROM orchestrator_queue WHERE instance_id = ? AND item_type = 'TimerFired'").run(instance);

    const existing = this.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance);
    if (existing === undefined) {
      this.stmt(
        `INSERT INTO instances (instance_id, orchestration_name, orchestration_version, current_execution_id,
           custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
         VALUES (?, ?, ?, ?, NULL, 0, ?, ?, ?, ?)`,
      ).run(instance, md.orchestrationName, md.orchestrationVersion, exec, md.parentInstanceId ?? null, now, now, md.status ?? "Running");
    } else {
      // instances.status mirrors the current execution's status (listing indexes use it).
      // updated_at moves only when the ack changes the instance (a message for a finished
      // instance is consumed without touching it).
      this.stmt(
        `UPDATE instances SET orchestration_name = ?, orchestration_version = ?, suspension = NULL,
           updated_at = CASE WHEN ? THEN ? ELSE updated_at END,
           status = CASE WHEN ? IS NOT NULL THEN ? WHEN ? > current_execution_id THEN 'Running' ELSE status END,
           current_execution_id = MAX(current_execution_id, ?) WHERE instance_id = ?`,
      ).run(md.orchestrationName, md.orchestrationVersion, plan.changesInstance ? 1 : 0, now, md.status ?? null, md.status ?? null, exec, exec, instance);
    }
    this.stmt(
      "INSERT OR IGNORE INTO executions (instance_id, execution_id, status, started_at) VALUES (?, ?, 'Running', ?)",
    ).run(instance, exec, now);

    const insertEvent = this.stmt(
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
      this.stmt("UPDATE kv_delta SET value = NULL, last_updated_at_ms = ? WHERE instance_id = ?").run(plan.kvClearAllAt, instance);
      this.stmt(
        `INSERT INTO kv_delta (instance_id, key, value, last_updated_at_ms)
         SELECT instance_id, key, NULL, ? FROM kv_store WHERE instance_id = ?
         ON CONFLICT(instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = excluded.last_updated_at_ms`,
      ).run(plan.kvClearAllAt, instance);
    }
    const writeKv = this.stmt(
      `INSERT INTO kv_delta (instance_id, key, value, last_updated_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms`,
    );
    for (const w of plan.kvWrites) writeKv.run(instance, w.key, w.value, w.at);

    if (md.status !== undefined) {
      this.stmt(
        "UPDATE executions SET status = ?, output = ?, failure = ?, completed_at = ? WHERE instance_id = ? AND execution_id = ?",
      ).run(
        md.status,
        md.output ?? null,
        encodeFailure(md.failure),
        TERMINAL_STATUSES.has(md.status) ? now : null,
        instance,
        exec,
      );
    }
    if (plan.customStatus !== null) {
      this.stmt(
        "UPDATE instances SET custom_status = ?, custom_status_version = custom_status_version + 1 WHERE instance_id = ?",
      ).run(plan.customStatus.value, instance);
    }
    if (plan.terminal) {
      this.stmt(
        `INSERT INTO kv_store (instance_id, key, value, last_updated_at_ms)
         SELECT instance_id, key, value, last_updated_at_ms FROM kv_delta WHERE instance_id = ? AND value IS NOT NULL
         ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms`,
      ).run(instance);
      this.stmt(
        "DELETE FROM kv_store WHERE instance_id = ? AND key IN (SELECT key FROM kv_delta WHERE instance_id = ? AND value IS NULL)",
      ).run(instance, instance);
      this.stmt("DELETE FROM kv_delta WHERE instance_id = ?").run(instance);
    }

    const notes: ProviderNotification[] = [];
    // The worker queue runs on real time (activities are real work), whatever the clock says.
    const realNow = Date.now();
    const leaseUntil = realNow + (ack.leaseWorkerItems?.lockTimeoutMs ?? 0);
    ack.workerItems.forEach((w, k) => this.insertWorkerItem(w, realNow, leased.get(k)?.lockToken, leaseUntil));
    // Items leased to the caller need nobody woken.
    if (ack.workerItems.length > leased.size) notes.push({ kind: "worker" });

    const cancelled: ActivityIdentity[] = [];
    const delWorker = this.stmt("DELETE FROM worker_queue WHERE instance_id = ? AND execution_id = ? AND activity_id = ?");
    for (const c of ack.cancelledActivities) {
      if (delWorker.run(c.instance, c.executionId, c.activityId).changes > 0) cancelled.push(c);
    }

    for (const o of plan.orchestratorItems) this.insertOrchItem(o.item, o.visibleAt, now);

    this.stmt("DELETE FROM instance_locks WHERE lock_token = ?").run(lockToken);

    for (const t of plan.wakeTimes) notes.push({ kind: "orchestrator", visibleAtMs: t });
    notes.push({ kind: "instanceChanged", instance, changes: plan.changes });
    if (cancelled.length > 0) notes.push({ kind: "activitiesCancelled", activities: cancelled });
    return notes;
  }

  private insertOrchItem(item: WorkItem, visibleAt: number, now: number): number {
    this.stmt(
      "INSERT INTO orchestrator_queue (instance_id, work_item, item_type, visible_at, attempt_count, created_at) VALUES (?, ?, ?, ?, 0, ?)",
    ).run(targetInstance(item), encodeWorkItem(item), item.type, visibleAt, now);
    return visibleAt;
  }

  /** With a lock token the item is inserted leased (attempt 1, locked until `lockedUntil`). */
  private insertWorkerItem(item: WorkItem, now: number, lockToken?: string, lockedUntil?: number): void {
    const a = item.type === "ActivityExecute" ? item : null;
    this.stmt(
      `INSERT INTO worker_queue (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at,
         lock_token, locked_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
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

  async abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    const delay = Math.max(0, delayMs ?? 0);
    this.run("abandonOrchestrationItem", () => this.txAbandonOrch(lockToken, delay, ignoreAttempt === true));
    this.emit([{ kind: "orchestrator", visibleAtMs: this.clock.now() + delay }]);
  }

  private abandonOrchInTx(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    this.requireOrchLock("abandonOrchestrationItem", lockToken, Date.now(), true);
    const now = this.clock.now();
    this.stmt(
      `UPDATE orchestrator_queue SET lock_token = NULL,
         visible_at = CASE WHEN ? > 0 THEN ? ELSE visible_at END,
         attempt_count = CASE WHEN ? THEN MAX(0, attempt_count - 1) ELSE attempt_count END
       WHERE lock_token = ?`,
    ).run(delayMs, now + delayMs, ignoreAttempt ? 1 : 0, lockToken);
    this.stmt("DELETE FROM instance_locks WHERE lock_token = ?").run(lockToken);
  }

  async renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void> {
    this.run("renewOrchestrationItemLock", () => {
      const now = Date.now();
      const r = this.stmt("UPDATE instance_locks SET locked_until = ? WHERE lock_token = ? AND locked_until > ?").run(
        now + extendMs,
        lockToken,
        now,
      );
      if (r.changes === 0) {
        throw new ProviderError("renewOrchestrationItemLock", "instance lock not held or expired", false);
      }
    });
  }

  private instanceExistsOrQueued(instance: string): boolean {
    if (this.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance) !== undefined) return true;
    return (
      this.stmt(`SELECT 1 AS x FROM orchestrator_queue WHERE instance_id = ? AND item_type IN ${START_TYPES} LIMIT 1`).get(
        instance,
      ) !== undefined
    );
  }

  async enqueueForOrchestrator(item: WorkItem, options: EnqueueOptions = {}): Promise<void> {
    const visibleAt = this.run("enqueueForOrchestrator", () => this.txEnqueueOrch(item, options));
    this.emit([{ kind: "orchestrator", visibleAtMs: visibleAt }]);
  }

  private enqueueOrchInTx(item: WorkItem, options: EnqueueOptions): number {
    const now = this.clock.now();
    const target = targetInstance(item);
    if (options.requireInstance === true && !this.instanceExistsOrQueued(target)) throw new InstanceNotFoundError(target);
    let visibleAt = now;
    if (options.delayMs !== undefined && options.delayMs > 0) visibleAt = now + options.delayMs;
    else if (item.type === "TimerFired") visibleAt = item.fireAtMs;
    return this.insertOrchItem(item, visibleAt, now);
  }

  async createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    const visibleAt = this.run("createInstance", () => this.txCreateInstance(item));
    this.emit([{ kind: "orchestrator", visibleAtMs: visibleAt }]);
  }

  // ------------------------------------------------------------------------------------------
  // Worker queue

  async enqueueForWorker(item: WorkItem): Promise<void> {
    this.run("enqueueForWorker", () => this.insertWorkerItem(item, Date.now()));
    this.emit([{ kind: "worker" }]);
  }

  private workerFetchSql(filter: TagFilter, withSession: boolean): string {
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

  async fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    if (options.tagFilter.kind === "none") return null;
    // A plain read first: an empty queue costs no write transaction.
    if (!this.run("fetchWorkItem", () => this.workCandidateExists(options))) return null;
    const lease = this.run("fetchWorkItem", () => this.txFetchWork(lockTimeoutMs, options));
    return lease;
  }

  private workCandidateExists(options: FetchWorkOptions): boolean {
    const f = options.tagFilter;
    const params = {
      now: Date.now(),
      owner: options.session?.ownerId ?? "",
      tags: JSON.stringify(f.kind === "tags" || f.kind === "defaultAnd" ? f.tags : []),
    };
    return this.stmt(this.workerFetchSql(f, options.session !== undefined)).get(params) !== undefined;
  }

  private fetchWorkInTx(lockTimeoutMs: number, options: FetchWorkOptions): WorkItemLease | null {
    const now = Date.now();
    const session = options.session;
    const select = this.stmt(this.workerFetchSql(options.tagFilter, session !== undefined));
    const f = options.tagFilter;
    const params = {
      now,
      owner: session?.ownerId ?? "",
      tags: JSON.stringify(f.kind === "tags" || f.kind === "defaultAnd" ? f.tags : []),
    };
    for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
      const row = select.get(params) as WorkerRow | undefined;
      if (row === undefined) return null;
      const decoded = decodeWorkItem(row.work_item);
      if (!decoded.ok || decoded.value.type !== "ActivityExecute") {
        this.deadLetter("worker", row.id, null, row.work_item, decoded.ok ? `unexpected ${decoded.value.type} in worker queue` : decoded.error);
        continue;
      }
      if (row.session_id !== null && session !== undefined) {
        const claimed = this.stmt(
          `INSERT INTO sessions (session_id, worker_id, locked_until, last_activity_at) VALUES (@sid, @owner, @until, @now)
           ON CONFLICT(session_id) DO UPDATE SET worker_id = excluded.worker_id,
             locked_until = CASE WHEN sessions.locked_until > @now THEN MAX(sessions.locked_until, excluded.locked_until)
                                 ELSE excluded.locked_until END,
             last_activity_at = excluded.last_activity_at
           WHERE sessions.worker_id = excluded.worker_id OR sessions.locked_until <= @now`,
        ).run({ sid: row.session_id, owner: session.ownerId, until: now + session.lockTimeoutMs, now });
        if (claimed.changes === 0) return null;
      }
      const token = randomUUID();
      const item = decoded.value as WorkItem & { type: "ActivityExecute" };
      // A heartbeating activity is leased for its heartbeat timeout: only heartbeats keep it.
      const leaseMs = typeof item.heartbeatTimeoutMs === "number" && item.heartbeatTimeoutMs > 0 ? item.heartbeatTimeoutMs : lockTimeoutMs;
      this.stmt("UPDATE worker_queue SET lock_token = ?, locked_until = ?, attempt_count = attempt_count + 1 WHERE id = ?").run(
        token,
        now + leaseMs,
        row.id,
      );
      return {
        item,
        lockToken: token,
        attemptCount: row.attempt_count + 1,
        heartbeatDetails: row.heartbeat_details,
        // Still carrying a token: the previous lease expired unreleased (its holder was lost).
        lapsed: row.lock_token !== null,
        // Read after this item's lock is in: another item ready now?
        moreReady: select.get(params) !== undefined,
      };
    }
    return null;
  }

  async ackWorkItem(lockToken: string, completion: WorkItem | null): Promise<void> {
    const visibleAt = this.run("ackWorkItem", () => this.txAckWork(lockToken, completion));
    if (visibleAt !== null) this.emit([{ kind: "orchestrator", visibleAtMs: visibleAt }]);
  }

  private requireWorkLock(operation: string, lockToken: string, now: number): { id: number; session_id: string | null } {
    const row = this.stmt("SELECT id, session_id, locked_until FROM worker_queue WHERE lock_token = ?").get(lockToken) as
      | { id: number; session_id: string | null; locked_until: number | null }
      | undefined;
    if (row === undefined) throw new ProviderError(operation, "work item lock not found (withdrawn, acked or lost)", false);
    if (row.locked_until === null || row.locked_until <= now) throw new ProviderError(operation, "work item lock expired", false);
    return row;
  }

  private touchSession(sessionId: string | null, now: number): void {
    if (sessionId === null) return;
    this.stmt("UPDATE sessions SET last_activity_at = ? WHERE session_id = ? AND locked_until > ?").run(now, sessionId, now);
  }

  private ackWorkInTx(lockToken: string, completion: WorkItem | null): number | null {
    const now = Date.now();
    const row = this.requireWorkLock("ackWorkItem", lockToken, now);
    this.stmt("DELETE FROM worker_queue WHERE id = ?").run(row.id);
    this.touchSession(row.session_id, now);
    if (completion === null) return null;
    return this.insertOrchItem(completion, now, now);
  }

  async renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void> {
    this.run("renewWorkItemLock", () => this.txRenewWork(lockToken, extendMs, heartbeatDetails ?? null));
  }

  private renewWorkInTx(lockToken: string, extendMs: number, heartbeatDetails: string | null): void {
    const now = Date.now();
    const row = this.requireWorkLock("renewWorkItemLock", lockToken, now);
    if (heartbeatDetails === null) this.stmt("UPDATE worker_queue SET locked_until = ? WHERE id = ?").run(now + extendMs, row.id);
    else
      this.stmt("UPDATE worker_queue SET locked_until = ?, heartbeat_details = ? WHERE id = ?").run(now + extendMs, heartbeatDetails, row.id);
    this.touchSession(row.session_id, now);
  }

  async abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    this.run("abandonWorkItem", () => this.txAbandonWork(lockToken, Math.max(0, delayMs ?? 0), ignoreAttempt === true));
    this.emit([{ kind: "worker" }]);
  }

  private abandonWorkInTx(lockToken: string, delayMs: number, ignoreAttempt: boolean): void {
    const now = Date.now();
    const r = this.stmt(
      `UPDATE worker_queue SET lock_token = NULL, locked_until = NULL, visible_at = ?,
         attempt_count = CASE WHEN ? THEN MAX(0, attempt_count - 1) ELSE attempt_count END
       WHERE lock_token = ?`,
    ).run(now + delayMs, ignoreAttempt ? 1 : 0, lockToken);
    if (r.changes === 0) throw new ProviderError("abandonWorkItem", "work item lock not found (withdrawn, acked or lost)", false);
  }

  async pendingWork(): Promise<PendingWork> {
    return this.run("pendingWork", () => {
      const now = Date.now();
      const visibleNow = this.clock.now();
      const orchRunnable = this.stmt(ORCH_CANDIDATE_SQL).get(visibleNow, now) !== undefined;
      const workRunnable =
        this.stmt("SELECT 1 AS x FROM worker_queue WHERE visible_at <= ? AND (lock_token IS NULL OR locked_until <= ?) LIMIT 1").get(now, now) !==
        undefined;
      const locked = (this.stmt("SELECT COUNT(*) AS n FROM instance_locks WHERE locked_until > ?").get(now) as { n: number }).n;
      const running = this.stmt(
        "SELECT instance_id, execution_id, activity_id FROM worker_queue WHERE lock_token IS NOT NULL AND locked_until > ?",
      ).all(now) as { instance_id: string; execution_id: number; activity_id: number }[];
      const next = this.stmt("SELECT MIN(visible_at) AS t FROM orchestrator_queue WHERE visible_at > ?").get(visibleNow) as { t: number | null };
      return {
        runnable: orchRunnable || workRunnable,
        lockedInstances: locked,
        runningActivities: running.map((r) => ({ instance: r.instance_id, executionId: r.execution_id, activityId: r.activity_id })),
        nextVisibleAtMs: next.t,
      };
    });
  }

  async isActivityPending(id: ActivityIdentity): Promise<boolean> {
    return this.run(
      "isActivityPending",
      () =>
        this.stmt("SELECT 1 AS x FROM worker_queue WHERE instance_id = ? AND execution_id = ? AND activity_id = ? LIMIT 1").get(
          id.instance,
          id.executionId,
          id.activityId,
        ) !== undefined,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Sessions

  async renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    if (ownerIds.length === 0) return 0;
    return this.run("renewSessionLocks", () => {
      const now = Date.now();
      return this.stmt(
        `UPDATE sessions SET locked_until = ?
         WHERE worker_id IN (SELECT value FROM json_each(?)) AND locked_until > ? AND last_activity_at > ?`,
      ).run(now + extendMs, JSON.stringify(ownerIds), now, now - idleTimeoutMs).changes;
    });
  }

  async cleanupOrphanedSessions(_idleTimeoutMs: number): Promise<number> {
    return this.run("cleanupOrphanedSessions", () => {
      const now = Date.now();
      return this.stmt(
        `DELETE FROM sessions WHERE locked_until <= ?
           AND NOT EXISTS (SELECT 1 FROM worker_queue w WHERE w.session_id = sessions.session_id)`,
      ).run(now).changes;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  private readHistoryOrThrow(operation: string, instance: string, executionId: number): HistoryEvent[] {
    const loaded = this.loadHistory(instance, executionId);
    if (!loaded.ok) throw new ProviderError(operation, loaded.error, false);
    return loaded.value;
  }

  async read(instance: string): Promise<HistoryEvent[]> {
    return this.run("read", () => {
      const r = this.stmt("SELECT MAX(execution_id) AS m FROM executions WHERE instance_id = ?").get(instance) as { m: number | null };
      if (r.m === null) return [];
      return this.readHistoryOrThrow("read", instance, r.m);
    });
  }

  async readExecution(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.run("readExecution", () => this.readHistoryOrThrow("readExecution", instance, executionId));
  }

  async getStatus(instance: string): Promise<StoredStatus | null> {
    return this.run("getStatus", () => {
      const row = this.stmt(
        `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, i.custom_status,
                i.custom_status_version, i.parent_instance_id, i.suspension, e.status, e.output, e.failure
         FROM instances i LEFT JOIN executions e
           ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
         WHERE i.instance_id = ?`,
      ).get(instance) as
        | {
            orchestration_name: string;
            orchestration_version: string | null;
            current_execution_id: number;
            custom_status: string | null;
            custom_status_version: number;
            parent_instance_id: string | null;
            suspension: string | null;
            status: ExecutionStatus | null;
            output: string | null;
            failure: string | null;
          }
        | undefined;
      if (row === undefined) return null;
      return {
        orchestrationName: row.orchestration_name,
        orchestrationVersion: row.orchestration_version,
        executionId: row.current_execution_id,
        status: row.status ?? "Running",
        output: row.output,
        failure: decodeFailure(row.failure),
        customStatus: row.custom_status,
        customStatusVersion: row.custom_status_version,
        parentInstanceId: row.parent_instance_id,
        suspension: decodeFailure(row.suspension),
      };
    });
  }

  async suspendOrchestrationItem(lockToken: string, error: ErrorDetailsData, retryInMs: number): Promise<void> {
    const delay = Math.max(0, retryInMs);
    this.run("suspendOrchestrationItem", () => this.txSuspendOrch(lockToken, error, delay));
    this.emit([
      { kind: "orchestrator", visibleAtMs: this.clock.now() + delay },
    ]);
  }

  async getKvValue(instance: string, key: string): Promise<string | null> {
    return this.run("getKvValue", () => {
      const d = this.stmt("SELECT value FROM kv_delta WHERE instance_id = ? AND key = ?").get(instance, key) as
        | { value: string | null }
        | undefined;
      if (d !== undefined) return d.value;
      const s = this.stmt("SELECT value FROM kv_store WHERE instance_id = ? AND key = ?").get(instance, key) as
        | { value: string }
        | undefined;
      return s?.value ?? null;
    });
  }

  async getKvAllValues(instance: string): Promise<Record<string, string>> {
    return this.run("getKvAllValues", () => {
      const out = new Map<string, string>();
      const store = this.stmt("SELECT key, value FROM kv_store WHERE instance_id = ?").all(instance) as { key: string; value: string }[];
      for (const r of store) out.set(r.key, r.value);
      const delta = this.stmt("SELECT key, value FROM kv_delta WHERE instance_id = ?").all(instance) as {
        key: string;
        value: string | null;
      }[];
      for (const r of delta) {
        if (r.value === null) out.delete(r.key);
        else out.set(r.key, r.value);
      }
      return Object.fromEntries(out);
    });
  }
}
