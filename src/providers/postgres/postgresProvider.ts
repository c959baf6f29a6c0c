// PostgreSQL provider on the `pg` driver.
//
// Layout: every table lives in one schema (quoted everywhere), so two schemas in one database
// never see each other. Timestamps are client milliseconds stored as BIGINT (like the SQLite
// provider). Concurrency:
//   - orchestrator queue: a candidate row is picked with FOR UPDATE SKIP LOCKED, so fetchers
//     spread over instances; the instance lock is a row in `instance_locks` (UUID token,
//     locked_until) taken inside the fetch transaction. Fetch, ack and abandon of one instance
//     also hold a transaction-scoped advisory lock on it (fetch only tries it), which orders them
//     and keeps them from deadlocking on queue rows;
//   - worker queue: FOR UPDATE SKIP LOCKED on the item row, plus the session upsert rules;
//   - every multi-statement write is ONE transaction; the hot paths (orchestrator fetch and ack,
//     worker fetch and ack, createInstance) are plpgsql functions, one round trip each; the
//     orchestrator ack sends its whole plan (providers/ackPlan.ts) as one JSONB value (dx_ack_plan);
//   - wake-ups are NOTIFYed right after the commit (NotifyBatcher: coalesced, never inside the
//     write, where PostgreSQL would serialise every notifying commit behind one lock held through
//     its WAL flush), so other processes hear about committed writes only.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { pgDriver } from "./driver.js";
import type { Pool, PoolClient, QueryResultRow } from "pg";

import type { HistoryEvent } from "../../model/events.js";
import { InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError, type DeadLetteredMessage, type ErrorDetailsData } from "../../model/errors.js";
import type { ExecutionStatus } from "../../model/status.js";
import { targetInstance, type ActivityIdentity, type WorkItem } from "../../model/workItems.js";
import type { ProviderAdmin } from "../admin.js";
import type {
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
  WorkItemLease,
  AckResult,
} from "../provider.js";
import { leasesOf, planAck, type AckPlan } from "../ackPlan.js";
import { PostgresAdmin } from "./admin.js";
import { decodeEvent, decodeFailure, decodeWorkItem, encodeEvent, encodeFailure, encodeWorkItem, num, setEntry } from "./codec.js";
import { isConnectionError, pgCode, toProviderError, UNIQUE_VIOLATION } from "./errors.js";
import { DEAD_LETTER_NOTICE_TYPE, decodeDeadLetterNotice, encodeDeadLetterNotice } from "../deadLetterNotice.js";
import { migrate } from "./migrations.js";
import { encodeNotifications, NotifyBatcher, PgListener } from "./notifier.js";
import { preparedStatementClient } from "./preparedClient.js";
import { Listeners } from "../listeners.js";
import { entraPassword, type PostgresEntraOptions } from "./entra.js";
import { channelName, DEFAULT_SCHEMA, tablesOf, validateSchemaName, type Tables } from "./schemaName.js";

export interface PostgresProviderOptions {
  /** Pool size (default 10). The LISTEN connection is extra. */
  maxConnections?: number;
  /** `application_name` reported to the server (default "duroxide"). */
  applicationName?: string;
  /** Cross-process wake-ups over LISTEN/NOTIFY (default true). NOTIFY is always sent. */
  listen?: boolean;
  /** Milliseconds to wait for a pooled connection before failing retryably (default 30000). */
  connectionTimeoutMs?: number;
}

/** Something that runs parameterised queries: the pool or a client inside a transaction. */
interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type FetchStep = { kind: "none" } | { kind: "retry" } | { kind: "item"; item: OrchestrationItem };

/** Wake-ups a transaction produces: NOTIFYed and delivered locally after COMMIT. */
type TxNotes = ProviderNotification[];

/** Ends a transaction with ROLLBACK instead of COMMIT, returning `value`. */
class Rollback<T> {
  constructor(readonly value: T) {}
}

const START_TYPES = "('StartOrchestration','ContinueAsNew')";
/** Upper bound of rounds one fetch call spends on lost races, dead letters and orphans. */
const MAX_FETCH_ROUNDS = 64;
/**
 * Histories up to this many events come back with the orchestrator fetch itself (one round trip
 * even when the caller does not hold them); longer ones are read separately when needed.
 */
const INLINE_HISTORY_MAX = 32;

/** int8 columns parsed to numbers (all our int8 values are ms timestamps, ids and counts). */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 && format !== "binary") return (v: string) => Number(v);
    return (pgDriver().types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * The ack plan as the JSONB argument of `dx_ack_plan` (migration 9): scalars by name, rows as
 * positional arrays (see the function for their columns); `cs` is present only when the custom
 * status changes (its value may be null).
 */
function encodePlan(ack: OrchestrationAck, plan: AckPlan, leased: ReadonlyMap<number, WorkItemLease>, leasedUntil: number): string {
  const md = ack.metadata;
  const hasStatus = md.status !== undefined;
  return JSON.stringify({
    name: md.orchestrationName,
    version: md.orchestrationVersion,
    exec: ack.executionId,
    parent: md.parentInstanceId ?? null,
    ...(plan.customStatus !== null ? { cs: plan.customStatus.value } : {}),
    status: md.status ?? null,
    output: hasStatus ? (md.output ?? null) : null,
    failure: hasStatus ? encodeFailure(md.failure) : null,
    terminal: plan.terminal,
    changesInstance: plan.changesInstance,
    events: ack.historyDelta.map((e) => [e.eventId, e.type, encodeEvent(e)]),
    kvClearAt: plan.kvClearAllAt,
    kv: plan.kvWrites.map((w) => [w.key, w.value, w.at]),
    worker: ack.workerItems.map((i, k) => {
      const a = i.type === "ActivityExecute" ? i : null;
      const lease = leased.get(k);
      const row = [encodeWorkItem(i), a?.instance ?? null, a?.executionId ?? null, a?.id ?? null, a?.sessionId ?? null, a?.tag ?? null];
      return lease ? [...row, lease.lockToken, leasedUntil] : row;
    }),
    cancel: ack.cancelledActivities.map((c) => [c.instance, c.executionId, c.activityId]),
    orch: plan.orchestratorItems.map((o) => [targetInstance(o.item), encodeWorkItem(o.item), o.item.type, o.visibleAt]),
  });
}

export class PostgresProvider implements Provider {
  readonly name = "postgres";

  /** LISTEN/NOTIFY carries every process's writes on this schema. */
  get notifiesAcrossProcesses(): boolean {
    return this.options.listen !== false;
  }
  readonly admin: ProviderAdmin;
  /** The schema holding this provider's tables. */
  readonly schema: string;

  private readonly pool: Pool;
  private readonly t: Tables;
  private readonly channel: string;
  /** Identifies this object's own NOTIFYs, which its LISTEN client skips. */
  private readonly source = randomUUID().slice(0, 8);
  private readonly lockPrefix: string;
  private readonly listeners = new Listeners();
  private listener: PgListener | null = null;
  private readonly notifier = new NotifyBatcher(async (bodies) => {
    await this.pool.query(`SELECT pg_notify($1, u.b) FROM unnest($2::text[]) AS u(b)`, [this.channel, bodies]);
  });
  private closed = false;

  private constructor(
    pool: Pool,
    private readonly connection: pg.ClientConfig,
    schema: string,
    private readonly options: PostgresProviderOptions,
  ) {
    this.pool = pool;
    this.schema = schema;
    this.t = tablesOf(schema);
    this.channel = channelName(schema);
    this.lockPrefix = `duroxide:${schema}:instance:`;
    this.admin = new PostgresAdmin(pool, this.t, (op, err) => toProviderError(op, err), this.lockPrefix);
  }

  // ------------------------------------------------------------------------------------------
  // Factories

  /** Connects to `url` and uses the database's default schema ("public"). */
  static async connect(url: string, options: PostgresProviderOptions = {}): Promise<PostgresProvider> {
    return PostgresProvider.connectWithSchema(url, DEFAULT_SCHEMA, options);
  }

  /** Connects to `url`, creating and migrating `schema` if needed. */
  static async connectWithSchema(url: string, schema: string, options: PostgresProviderOptions = {}): Promise<PostgresProvider> {
    return PostgresProvider.#open({ connectionString: url }, schema, options);
  }

  /** Azure Database for PostgreSQL with Microsoft Entra ID authentication, default schema. */
  static async connectWithEntra(
    host: string,
    port: number,
    database: string,
    user: string,
    options: PostgresEntraOptions = {},
  ): Promise<PostgresProvider> {
    return PostgresProvider.connectWithSchemaAndEntra(host, port, database, user, DEFAULT_SCHEMA, options);
  }

  /** Azure Database for PostgreSQL with Microsoft Entra ID authentication, in `schema`. */
  static async connectWithSchemaAndEntra(
    host: string,
    port: number,
    database: string,
    user: string,
    schema: string,
    options: PostgresEntraOptions = {},
  ): Promise<PostgresProvider> {
    const envMax = Number(process.env["DUROXIDE_PG_POOL_MAX"]);
    const password = entraPassword(options);
    // Fetch the first token now: missing credentials fail here, clearly, not on first use.
    try {
      await password();
    } catch (err) {
      throw toProviderError("connect", err);
    }
    return PostgresProvider.#open(
      { host, port, database, user, password, ssl: options.ssl ?? { rejectUnauthorized: true } },
      schema,
      {
        maxConnections: options.maxConnections ?? (Number.isInteger(envMax) && envMax > 0 ? envMax : 10),
        connectionTimeoutMs: options.acquireTimeoutMs ?? 30_000,
      },
    );
  }

  static async #open(connection: pg.ClientConfig, schema: string, options: PostgresProviderOptions): Promise<PostgresProvider> {
    validateSchemaName(schema);
    const max = options.maxConnections ?? 10;
    if (!Number.isInteger(max) || max < 1) {
      throw new ProviderError("connect", `maxConnections must be a positive integer, got ${String(max)}`, false);
    }
    const driver = pgDriver();
    const pool = new driver.Pool({
      ...connection,
      max,
      Client: preparedStatementClient(driver),
      // Idle connections must not keep the process alive (a script that never closes its
      // provider still exits); a checked-out client, i.e. work in progress, does.
      allowExitOnIdle: true,
      application_name: options.applicationName ?? "duroxide",
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 30_000,
      types: TYPES,
    });
    // An idle client losing its connection must not crash the process; the pool discards it.
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw toProviderError("connect", err);
    }
    return new PostgresProvider(pool, connection, schema, options);
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  private async run<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    if (this.closed) throw new ProviderError(operation, "provider is closed", false);
    try {
      return await fn();
    } catch (err) {
      throw toProviderError(operation, err);
    }
  }

  /**
   * Runs `fn` in one transaction. Returning a `Rollback` rolls back instead of committing.
   * `notes` (set by fn through the accumulator) are given to local listeners and NOTIFYed after
   * the COMMIT. `asyncCommit` skips waiting for the WAL flush: only for transactions
   * whose loss in a server crash is harmless (fetches: a lost lock is simply not held).
   */
  private async tx<R>(fn: (c: PoolClient, notes: TxNotes) => Promise<R | Rollback<R>>, asyncCommit = false): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const notes: TxNotes = [];
    try {
      await client.query(asyncCommit ? "BEGIN; SET LOCAL synchronous_commit TO OFF" : "BEGIN");
      let result: R | Rollback<R>;
      try {
        result = await fn(client, notes);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
      if (result instanceof Rollback) {
        await client.query("ROLLBACK");
        return result.value;
      }
      await client.query("COMMIT");
      this.notifyCommitted(notes);
      return result;
    } catch (err) {
      if (isConnectionError(err)) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * After a commit: wake local listeners and NOTIFY other processes (coalesced with concurrent
   * operations' wake-ups, see NotifyBatcher). The NOTIFY is not awaited: the caller (a runtime's
   * ack) finishes its bookkeeping, such as metrics, in the same tick, before any local waiter that
   * was just woken can read the committed state back; close() waits for NOTIFYs still in flight.
   */
  private notifyCommitted(notes: readonly ProviderNotification[]): void {
    if (notes.length === 0) return;
    this.emit(notes);
    void this.notifier.notify(encodeNotifications(notes).map((b) => `${this.source};${b}`));
  }

  private emit(notifications: readonly ProviderNotification[]): void {
    this.listeners.emit(notifications);
  }

  private deliver(n: ProviderNotification): void {
    this.listeners.deliver(n);
  }

  subscribe(listener: NotificationListener): () => void {
    const unsubscribe = this.listeners.add(listener);
    if (this.listener === null && !this.closed && this.options.listen !== false) {
      this.listener = new PgListener({
        connection: this.connection,
        channel: this.channel,
        source: this.source,
        applicationName: `${this.options.applicationName ?? "duroxide"}-listen`,
        deliver: (n) => this.deliver(n),
        onReconnect: () => {
          // Notifications may have been missed while disconnected: wake everyone once.
          this.deliver({ kind: "orchestrator", visibleAtMs: Date.now() });
          this.deliver({ kind: "worker" });
        },
      });
      void this.listener.start();
    }
    return unsubscribe;
  }

  /** Resolves once the LISTEN connection is up (or its first attempt failed). For tests and startup. */
  async whenListening(): Promise<boolean> {
    const l = this.listener;
    if (l === null) return false;
    await holdingEventLoop(() => l.start());
    return l.connected;
  }

  /** Test hook: drops the LISTEN connection as a network failure would (it reconnects). */
  simulateListenerDisconnect(): void {
    this.listener?.simulateDisconnect();
  }

  /** The underlying pool. Escape hatch for tests and tooling; writing through it bypasses every invariant. */
  unsafeRawPool(): Pool {
    return this.pool;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    const l = this.listener;
    this.listener = null;
    await holdingEventLoop(async () => {
      await this.notifier.idle();
      if (l !== null) await l.stop();
      await this.pool.end();
    });
  }

  // ------------------------------------------------------------------------------------------
  // Orchestrator queue

  async fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null> {
    return this.run("fetchOrchestrationItem", async () => {
      for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
        const step = await this.fetchOrchStep(lockTimeoutMs, options);
        if (step.kind === "none") return null;
        if (step.kind === "item") return step.item;
      }
      return null;
    });
  }

  /**
   * One fetch attempt. `dx_fetch_orch` (migration 3) picks, locks and tags in one autocommitted
   * round trip: the oldest visible message of an instance nobody holds (queue row FOR UPDATE SKIP
   * LOCKED, the instance's advisory lock only tried, the lock row re-checked under it), the
   * instance's visible messages tagged with a new token, its metadata, KV snapshot and, when short,
   * the current execution's history. The rare follow-ups (unreadable messages, orphans, a long
   * history the caller does not hold) run afterwards under the instance lock the fetch took.
   */
  private async fetchOrchStep(lockTimeoutMs: number, options: FetchOrchestrationOptions | undefined): Promise<FetchStep> {
    const t = this.t;
    const now = Date.now();
    const token = randomUUID();
    const res = await this.pool.query<{
      r_instance: string;
      r_exec: number | null;
      r_name: string | null;
      r_version: string | null;
      r_max_event: number | null;
      r_kv: [string, string, number][] | null;
      r_msg_ids: (string | number)[];
      r_msg_items: string[];
      r_msg_attempts: number[];
      r_event_ids: (string | number)[] | null;
      r_events: string[] | null;
      r_more: boolean | null;
    }>(`SELECT * FROM ${t.schema}.dx_fetch_orch($1, $2, $3, $4, $5)`, [now, token, now + lockTimeoutMs, this.lockPrefix, INLINE_HISTORY_MAX]);
    const row = res.rows[0];
    if (row === undefined) return { kind: "none" };
    const instance = row.r_instance;

    const messages: WorkItem[] = [];
    const deadLettered: DeadLetteredMessage[] = [];
    const unreadable: { id: number; payload: string; error: string }[] = [];
    let attemptCount = 0;
    for (let i = 0; i < row.r_msg_items.length; i++) {
      const a = row.r_msg_attempts[i] ?? 0;
      if (a > attemptCount) attemptCount = a;
      const payload = row.r_msg_items[i] ?? "";
      const notice = decodeDeadLetterNotice(payload);
      if (notice !== null) {
        deadLettered.push(notice);
        continue;
      }
      const decoded = decodeWorkItem(payload);
      if (!decoded.ok) {
        unreadable.push({ id: num(row.r_msg_ids[i]), payload, error: decoded.error });
        continue;
      }
      messages.push(decoded.value);
    }
    const currentExecutionId = row.r_exec;
    const orphaned = currentExecutionId === null && !messages.some((m) => m.type === "StartOrchestration" || m.type === "ContinueAsNew");
    if (unreadable.length > 0 || messages.length === 0 || orphaned) {
      const go = await this.tx(async (c) => {
        if (unreadable.length > 0) {
          // The kind recorded at enqueue time, so the failure can say what was lost.
          const kinds = await c.query<{ id: string | number; item_type: string | null }>(
            `SELECT id, item_type FROM ${t.orchestratorQueue} WHERE id = ANY($1::bigint[])`,
            [unreadable.map((u) => u.id)],
          );
          const kindOf = new Map(kinds.rows.map((r) => [num(r.id), r.item_type]));
          for (const u of unreadable) {
            const kind = kindOf.get(u.id) ?? null;
            if (currentExecutionId === null) {
              // No instance yet (a start in this batch may create one): moved, reported this once.
              const deadLetterId = await this.deadLetter(c, "orchestrator", u.id, instance, u.payload, u.error);
              deadLettered.push({ deadLetterId, messageId: u.id, kind, error: u.error });
              continue;
            }
            // Kept as a dead letter; the row stays as a notice until a turn of its instance is acked.
            const deadLetterId = await this.insertDeadLetter(c, "orchestrator", u.id, instance, u.payload, u.error);
            const m: DeadLetteredMessage = { deadLetterId, messageId: u.id, kind, error: u.error };
            await c.query(`UPDATE ${t.orchestratorQueue} SET work_item = $2, item_type = $3 WHERE id = $1`, [
              u.id,
              encodeDeadLetterNotice(m),
              DEAD_LETTER_NOTICE_TYPE,
            ]);
            deadLettered.push(m);
          }
        }
        // Everything was unreadable and has been moved aside; the runtime still hears of it when
        // the instance exists (it ends the instance).
        if (messages.length === 0 && (deadLettered.length === 0 || currentExecutionId === null)) {
          // Notices of an instance that no longer exists have nothing left to end.
          if (currentExecutionId === null)
            await c.query(`DELETE FROM ${t.orchestratorQueue} WHERE lock_token = $1 AND item_type = $2`, [token, DEAD_LETTER_NOTICE_TYPE]);
          await c.query(`DELETE FROM ${t.instanceLocks} WHERE instance_id = $1 AND lock_token = $2`, [instance, token]);
          return false;
        }
        if (orphaned) {
          // No instance and nothing in this batch can create one.
          const pending = await c.query<{ v: number | null }>(
            `SELECT MIN(visible_at) AS v FROM ${t.orchestratorQueue}
             WHERE instance_id = $1 AND item_type IN ${START_TYPES} AND lock_token IS DISTINCT FROM $2`,
            [instance, token],
          );
          const startAt = pending.rows[0]?.v ?? null;
          if (startAt !== null && startAt > now) {
            // A delayed start is queued: hold these messages back until it becomes visible.
            await c.query(`UPDATE ${t.orchestratorQueue} SET visible_at = $2, lock_token = NULL WHERE lock_token = $1`, [
              token,
              startAt,
            ]);
          } else {
            // Orphans can never be processed; drop them so they never block other instances.
            await c.query(`DELETE FROM ${t.orchestratorQueue} WHERE lock_token = $1`, [token]);
          }
          await c.query(`DELETE FROM ${t.instanceLocks} WHERE instance_id = $1 AND lock_token = $2`, [instance, token]);
          return false;
        }
        return true;
      });
      if (!go) return { kind: "retry" };
    }

    // The current execution's history, or nothing of it when the caller already holds all of it.
    const executionId = currentExecutionId !== null ? num(currentExecutionId) : 1;
    const known = currentExecutionId !== null ? options?.knownHistory?.get(instance) : undefined;
    const knownLast = known !== undefined && known.executionId === executionId ? known.lastEventId : null;
    let history: HistoryEvent[] = [];
    let historyAfterEventId = 0;
    let historyError: string | null = null;
    if (currentExecutionId !== null) {
      if (knownLast !== null && row.r_max_event !== null && num(row.r_max_event) === knownLast) {
        historyAfterEventId = knownLast;
      } else {
        let ids = row.r_event_ids;
        let texts = row.r_events;
        if (texts === null) {
          // Too long to send inline: read it now, in one snapshot that still shows our lock (so
          // no deletion of the instance can have slipped in between).
          const h = await this.pool.query<{ held: boolean; ids: (string | number)[] | null; events: string[] | null }>(
            `SELECT EXISTS (SELECT 1 FROM ${t.instanceLocks} WHERE lock_token = $3) AS held,
               (SELECT array_agg(event_id ORDER BY event_id) FROM ${t.history} WHERE instance_id = $1 AND execution_id = $2) AS ids,
               (SELECT array_agg(event_data ORDER BY event_id) FROM ${t.history} WHERE instance_id = $1 AND execution_id = $2) AS events`,
            [instance, executionId, token],
          );
          const hr = h.rows[0];
          // The lock is gone (the instance was deleted meanwhile): nothing to work on here.
          if (hr === undefined || !hr.held) return { kind: "retry" };
          ids = hr.ids ?? [];
          texts = hr.events ?? [];
        }
        for (let i = 0; i < texts.length; i++) {
          const d = decodeEvent(texts[i] ?? "");
          if (!d.ok) {
            historyError = `event ${String(ids?.[i])} of ${instance} execution ${executionId}: ${d.error}`;
            history = [];
            break;
          }
          history.push(d.value);
        }
      }
    }
    const kvSnapshot: Record<string, KvEntry> = {};
    for (const [key, value, at] of row.r_kv ?? []) setEntry(kvSnapshot, key, { value, lastUpdatedAtMs: num(at) });

    return {
      kind: "item",
      item: {
        instance,
        orchestrationName: currentExecutionId !== null ? row.r_name : null,
        orchestrationVersion: currentExecutionId !== null ? row.r_version : null,
        executionId,
        history,
        historyAfterEventId,
        historyError,
        messages,
        kvSnapshot,
        lockToken: token,
        attemptCount,
        ...(deadLettered.length > 0 ? { deadLettered } : {}),
        moreReady: row.r_more !== false,
      },
    };
  }

  private async loadHistory(
    q: Queryable,
    instance: string,
    executionId: number,
  ): Promise<{ ok: true; value: HistoryEvent[] } | { ok: false; error: string }> {
    const res = await q.query<{ event_id: number; event_data: string }>(
      `SELECT event_id, event_data FROM ${this.t.history} WHERE instance_id = $1 AND execution_id = $2 ORDER BY event_id`,
      [instance, executionId],
    );
    const out: HistoryEvent[] = [];
    for (const r of res.rows) {
      const d = decodeEvent(r.event_data);
      if (!d.ok) return { ok: false, error: `event ${r.event_id} of ${instance} execution ${executionId}: ${d.error}` };
      out.push(d.value);
    }
    return { ok: true, value: out };
  }

  /** Moves a queue row to the dead letters; returns the dead letter's id. */
  private async deadLetter(
    c: PoolClient,
    queue: "orchestrator" | "worker",
    id: number,
    instance: string | null,
    payload: string,
    error: string,
  ): Promise<number> {
    const deadLetterId = await this.insertDeadLetter(c, queue, id, instance, payload, error);
    await c.query(`DELETE FROM ${queue === "worker" ? this.t.workerQueue : this.t.orchestratorQueue} WHERE id = $1`, [id]);
    return deadLetterId;
  }

  /** Stores a copy of a queue row as a dead letter (the row itself is left to the caller). */
  private async insertDeadLetter(
    c: PoolClient,
    queue: "orchestrator" | "worker",
    id: number,
    instance: string | null,
    payload: string,
    error: string,
  ): Promise<number> {
    const r = await c.query<{ id: string | number }>(
      `INSERT INTO ${this.t.deadLetters} (queue, original_id, instance_id, payload, error, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [queue, id, instance, payload, error, Date.now()],
    );
    return num(r.rows[0]?.id ?? 0);
  }

  /**
   * Validates an orchestration lock token under the instance's advisory lock and row lock;
   * returns the locked instance.
   */
  private async requireOrchLock(
    c: PoolClient,
    operation: string,
    lockToken: string,
    now: number,
    allowExpired: boolean,
  ): Promise<string> {
    const t = this.t;
    const first = await c.query<{ instance_id: string }>(
      `SELECT instance_id, pg_advisory_xact_lock(hashtextextended($2::text || instance_id, 0)) AS l
       FROM ${t.instanceLocks} WHERE lock_token = $1`,
      [lockToken, this.lockPrefix],
    );
    const instance = first.rows[0]?.instance_id;
    if (instance === undefined) throw new ProviderError(operation, "invalid lock token (instance lock not held)", false);
    const lock = await c.query<{ locked_until: number }>(
      `SELECT locked_until FROM ${t.instanceLocks} WHERE instance_id = $1 AND lock_token = $2 FOR UPDATE`,
      [instance, lockToken],
    );
    const row = lock.rows[0];
    if (row === undefined) throw new ProviderError(operation, "invalid lock token (instance lock not held)", false);
    if (!allowExpired && num(row.locked_until) <= now) throw new ProviderError(operation, "instance lock expired", false);
    return instance;
  }

  /**
   * The whole ack in one autocommitted call of `dx_ack_plan` (migration 9): the ack plan as one
   * JSONB value; the function validates the lock under the instance's advisory lock, applies the
   * turn, withdraws cancelled activities and reports which it withdrew.
   */
  async ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult> {
    const op = "ackOrchestrationItem";
    return this.run(op, async () => {
      const now = Date.now();
      const plan = planAck(ack, now);
      const leased = leasesOf(ack);
      let res: pg.QueryResult<{ r_code: number; r_instance: string | null; r_next_visible: number | null; r_cancelled: [string, number, number][] | null }>;
      try {
        res = await this.pool.query(`SELECT * FROM ${this.t.schema}.dx_ack_plan($1, $2, $3, $4)`, [
          lockToken,
          now,
          this.lockPrefix,
          encodePlan(ack, plan, leased, now + (ack.leaseWorkerItems?.lockTimeoutMs ?? 0)),
        ]);
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION) {
          const detail = err instanceof Error && "detail" in err ? String((err as { detail: unknown }).detail ?? "") : "";
          throw new ProviderError(op, `duplicate event id for execution ${ack.executionId}${detail ? ` (${detail})` : ""}`, false);
        }
        throw err;
      }
      const r = res.rows[0];
      if (r === undefined || r.r_code === 1 || r.r_instance === null) throw new ProviderError(op, "invalid lock token (instance lock not held)", false);
      if (r.r_code === 2) throw new ProviderError(op, "instance lock expired", false);
      const notes: ProviderNotification[] = [];
      // Items leased to the caller need nobody woken.
      if (ack.workerItems.length > leased.size) notes.push({ kind: "worker" });
      for (const v of plan.wakeTimes) notes.push({ kind: "orchestrator", visibleAtMs: v });
      notes.push({ kind: "instanceChanged", instance: r.r_instance, changes: plan.changes });
      if (r.r_cancelled !== null && r.r_cancelled.length > 0) {
        const activities = r.r_cancelled.map(([instance, executionId, activityId]) => ({ instance, executionId: num(executionId), activityId: num(activityId) }));
        notes.push({ kind: "activitiesCancelled", activities });
      }
      this.pendingWake(r.r_next_visible);
      this.notifyCommitted(notes);
      return { leases: [...leased.values()] };
    });
  }

  /**
   * After an orchestrator ack: wake this process's fetch loop (only this one: it holds the
   * instance's cached state) for messages of the instance that arrived during the turn, whose
   * senders saw the instance locked and woke nobody.
   */
  private pendingWake(nextVisible: number | null): void {
    if (nextVisible === null) return;
    const at = num(nextVisible);
    // Messages further out were announced when they were queued (timers).
    if (at <= Date.now() + 1_000) this.emit([{ kind: "orchestrator", visibleAtMs: at }]);
  }

  private async insertWorkerItems(q: Queryable, items: readonly WorkItem[], now: number): Promise<void> {
    const a = items.map((i) => (i.type === "ActivityExecute" ? i : null));
    await q.query(
      `INSERT INTO ${this.t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at)
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

  async abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    const delay = Math.max(0, delayMs ?? 0);
    await this.run("abandonOrchestrationItem", () =>
      this.tx(async (c, notes) => {
        await this.abandonOrchInTx(c, notes, "abandonOrchestrationItem", lockToken, delay, ignoreAttempt === true);
      }),
    );
  }

  /** Releases the instance lock; its messages become visible again after `delay`. Returns the instance. */
  private async abandonOrchInTx(
    c: PoolClient,
    notes: ProviderNotification[],
    op: string,
    lockToken: string,
    delay: number,
    ignoreAttempt: boolean,
  ): Promise<string> {
    const now = Date.now();
    const instance = await this.requireOrchLock(c, op, lockToken, now, true);
    await c.query(
      `UPDATE ${this.t.orchestratorQueue} SET lock_token = NULL,
         visible_at = CASE WHEN $2::bigint > 0 THEN $3::bigint ELSE visible_at END,
         attempt_count = CASE WHEN $4::boolean THEN GREATEST(0, attempt_count - 1) ELSE attempt_count END
       WHERE lock_token = $1`,
      [lockToken, delay, now + delay, ignoreAttempt],
    );
    await c.query(`DELETE FROM ${this.t.instanceLocks} WHERE lock_token = $1`, [lockToken]);
    notes.push({ kind: "orchestrator", visibleAtMs: now + delay });
    return instance;
  }

  async suspendOrchestrationItem(lockToken: string, error: ErrorDetailsData, retryInMs: number): Promise<void> {
    const delay = Math.max(0, retryInMs);
    await this.run("suspendOrchestrationItem", () =>
      this.tx(async (c, notes) => {
        // The messages wait (no attempt counted: a suspension never poisons), the instance shows why
        // until its history moves on (migration 7).
        const instance = await this.abandonOrchInTx(c, notes, "suspendOrchestrationItem", lockToken, delay, true);
        await c.query(
          `UPDATE ${this.t.instances} i SET suspension = $2, suspended_execution = i.current_execution_id,
             suspended_last_event = (SELECT COALESCE(MAX(h.event_id), 0) FROM ${this.t.history} h
                                     WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id)
           WHERE i.instance_id = $1`,
          [instance, encodeFailure(error)],
        );
      }),
    );
  }

  async renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void> {
    await this.run("renewOrchestrationItemLock", async () => {
      const now = Date.now();
      const r = await this.pool.query(
        `UPDATE ${this.t.instanceLocks} SET locked_until = $2 WHERE lock_token = $1 AND locked_until > $3`,
        [lockToken, now + extendMs, now],
      );
      if (r.rowCount !== 1) throw new ProviderError("renewOrchestrationItemLock", "instance lock not held or expired", false);
    });
  }

  /** SQL condition: the instance has a row, or a start is queued for it ($1 = instance). */
  private existsOrQueuedSql(): string {
    const t = this.t;
    return `(EXISTS (SELECT 1 FROM ${t.instances} WHERE instance_id = $1)
             OR EXISTS (SELECT 1 FROM ${t.orchestratorQueue} WHERE instance_id = $1 AND item_type IN ${START_TYPES}))`;
  }

  async enqueueForOrchestrator(item: WorkItem, options: EnqueueOptions = {}): Promise<void> {
    await this.run("enqueueForOrchestrator", async () => {
      const now = Date.now();
      const target = targetInstance(item);
      let visibleAt = now;
      if (options.delayMs !== undefined && options.delayMs > 0) visibleAt = now + options.delayMs;
      else if (item.type === "TimerFired") visibleAt = item.fireAtMs;
      const note: ProviderNotification = { kind: "orchestrator", visibleAtMs: visibleAt };
      const requireCond = options.requireInstance === true ? `WHERE ${this.existsOrQueuedSql()}` : "";
      // One autocommitted statement: the check and the insert commit together; NOTIFY after.
      const res = await this.pool.query<{ n: number }>(
        `WITH ins AS (
           INSERT INTO ${this.t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
           SELECT $1, $2, $3, $4, 0, $5 ${requireCond}
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM ins)::int AS n`,
        [target, encodeWorkItem(item), item.type, visibleAt, now],
      );
      if ((res.rows[0]?.n ?? 0) === 0) throw new InstanceNotFoundError(target);
      this.notifyCommitted([note]);
    });
  }

  async createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    await this.run("createInstance", () => this.createInstanceInOneCall(item));
  }

  /**
   * `dx_create_instance` (migration 3): under an advisory lock on the id (serialising concurrent
   * creations, which the existence check alone would not), check and insert in one call.
   */
  private async createInstanceInOneCall(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    const now = Date.now();
    const r = await this.pool.query<{ ok: boolean }>(`SELECT ${this.t.schema}.dx_create_instance($1, $2, $3, $4, $5) AS ok`, [
      item.instance,
      `duroxide:${this.schema}:create:${item.instance}`,
      encodeWorkItem(item),
      item.type,
      now,
    ]);
    if (r.rows[0]?.ok !== true) throw new InstanceAlreadyExistsError(item.instance);
    this.notifyCommitted([{ kind: "orchestrator", visibleAtMs: now }]);
  }

  // ------------------------------------------------------------------------------------------
  // Worker queue

  async enqueueForWorker(item: WorkItem): Promise<void> {
    await this.run("enqueueForWorker", () =>
      this.tx(async (c, notes) => {
        await this.insertWorkerItems(c, [item], Date.now());
        notes.push({ kind: "worker" });
      }),
    );
  }

  async fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    if (options.tagFilter.kind === "none") return null;
    return this.run("fetchWorkItem", async () => {
      for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
        const step = await this.fetchWorkStep(lockTimeoutMs, options);
        if (step === "retry") continue;
        return step;
      }
      return null;
    });
  }

  /**
   * One attempt through `dx_lease_work` (migration 5), one autocommitted round trip: the oldest
   * visible, unlocked item the tag filter allows (FOR UPDATE SKIP LOCKED) whose session is free or
   * ours, the session claimed when it has one, the item locked with a new token (for its heartbeat
   * timeout when it has one).
   */
  private async fetchWorkStep(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null | "retry"> {
    const now = Date.now();
    const session = options.session;
    const f = options.tagFilter;
    const mode = f.kind === "defaultOnly" ? 0 : f.kind === "tags" ? 1 : f.kind === "defaultAnd" ? 2 : 3;
    const tags = f.kind === "tags" || f.kind === "defaultAnd" ? f.tags : [];
    const token = randomUUID();
    const res = await this.pool.query<{
      r_id: number;
      r_work_item: string;
      r_attempt_count: number;
      r_session_id: string | null;
      r_heartbeat_details: string | null;
      r_lapsed: boolean;
      r_more: boolean | null;
    }>(
      `SELECT * FROM ${this.t.schema}.dx_lease_work($1, $2, $3, $4, $5, $6, $7)`,
      [
        now,
        token,
        now + lockTimeoutMs,
        mode,
        tags,
        session !== undefined ? session.ownerId : null,
        session !== undefined ? now + session.lockTimeoutMs : null,
      ],
    );
    const row = res.rows[0];
    if (row === undefined) return null;
    const decoded = decodeWorkItem(row.r_work_item);
    if (!decoded.ok || decoded.value.type !== "ActivityExecute") {
      const error = decoded.ok ? `unexpected ${decoded.value.type} in worker queue` : decoded.error;
      await this.tx(async (c) => {
        // Still ours (locked by this token): move it aside.
        const mine = await c.query(`SELECT 1 FROM ${this.t.workerQueue} WHERE id = $1 AND lock_token = $2 FOR UPDATE`, [row.r_id, token]);
        if (mine.rows.length > 0) await this.deadLetter(c, "worker", num(row.r_id), null, row.r_work_item, error);
      });
      return "retry";
    }
    return {
      item: decoded.value as WorkItem & { type: "ActivityExecute" },
      lockToken: token,
      attemptCount: row.r_attempt_count,
      heartbeatDetails: row.r_heartbeat_details,
      lapsed: row.r_lapsed === true,
      moreReady: row.r_more !== false,
    };
  }

  async ackWorkItem(lockToken: string, completion: WorkItem | null): Promise<void> {
    await this.run("ackWorkItem", async () => {
      const t = this.t;
      const now = Date.now();
      const note: ProviderNotification = { kind: "orchestrator", visibleAtMs: now };
      // One call of dx_ack_work (migration 4): delete (only while our lock is valid), bump the
      // session and enqueue the completion, all or nothing. It tells whether anyone needs waking:
      // not while the completion's instance is locked by a live turn, whose ack finds the message
      // and wakes its own process (see pendingWake).
      const res = await this.pool.query<{ r_deleted: number; r_wake: boolean }>(
        `SELECT * FROM ${t.schema}.dx_ack_work($1, $2, $3, $4, $5, $6)`,
        [
          lockToken,
          now,
          this.lockPrefix,
          completion === null ? null : targetInstance(completion),
          completion === null ? null : encodeWorkItem(completion),
          completion === null ? null : completion.type,
        ],
      );
      if ((res.rows[0]?.r_deleted ?? 0) === 0) {
        const why = await this.pool.query(`SELECT 1 FROM ${t.workerQueue} WHERE lock_token = $1`, [lockToken]);
        throw new ProviderError(
          "ackWorkItem",
          why.rows.length > 0 ? "work item lock expired" : "work item lock not found (withdrawn, acked or lost)",
          false,
        );
      }
      if (completion !== null && res.rows[0]?.r_wake === true) this.notifyCommitted([note]);
    });
  }

  private async requireWorkLock(
    c: PoolClient,
    operation: string,
    lockToken: string,
    now: number,
  ): Promise<{ id: number; session_id: string | null }> {
    const res = await c.query<{ id: number; session_id: string | null; locked_until: number | null }>(
      `SELECT id, session_id, locked_until FROM ${this.t.workerQueue} WHERE lock_token = $1 FOR UPDATE`,
      [lockToken],
    );
    const row = res.rows[0];
    if (row === undefined) throw new ProviderError(operation, "work item lock not found (withdrawn, acked or lost)", false);
    if (row.locked_until === null || num(row.locked_until) <= now) throw new ProviderError(operation, "work item lock expired", false);
    return row;
  }

  private async touchSession(c: PoolClient, sessionId: string | null, now: number): Promise<void> {
    if (sessionId === null) return;
    await c.query(`UPDATE ${this.t.sessions} SET last_activity_at = $2 WHERE session_id = $1 AND locked_until > $2`, [sessionId, now]);
  }

  async renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void> {
    await this.run("renewWorkItemLock", () =>
      this.tx(async (c) => {
        const now = Date.now();
        const row = await this.requireWorkLock(c, "renewWorkItemLock", lockToken, now);
        if (heartbeatDetails === undefined)
          await c.query(`UPDATE ${this.t.workerQueue} SET locked_until = $2 WHERE id = $1`, [row.id, now + extendMs]);
        else
          await c.query(`UPDATE ${this.t.workerQueue} SET locked_until = $2, heartbeat_details = $3 WHERE id = $1`, [
            row.id,
            now + extendMs,
            heartbeatDetails,
          ]);
        await this.touchSession(c, row.session_id, now);
      }),
    );
  }

  async abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    const delay = Math.max(0, delayMs ?? 0);
    await this.run("abandonWorkItem", () =>
      this.tx(async (c, notes) => {
        const now = Date.now();
        const r = await c.query(
          `UPDATE ${this.t.workerQueue} SET lock_token = NULL, locked_until = NULL, visible_at = $2,
             attempt_count = CASE WHEN $3::boolean THEN GREATEST(0, attempt_count - 1) ELSE attempt_count END
           WHERE lock_token = $1`,
          [lockToken, now + delay, ignoreAttempt === true],
        );
        if (r.rowCount === 0) throw new ProviderError("abandonWorkItem", "work item lock not found (withdrawn, acked or lost)", false);
        notes.push({ kind: "worker" });
      }),
    );
  }

  async isActivityPending(id: ActivityIdentity): Promise<boolean> {
    return this.run("isActivityPending", async () => {
      const r = await this.pool.query(
        `SELECT 1 FROM ${this.t.workerQueue} WHERE instance_id = $1 AND execution_id = $2 AND activity_id = $3 LIMIT 1`,
        [id.instance, id.executionId, id.activityId],
      );
      return r.rows.length > 0;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Sessions

  async renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    if (ownerIds.length === 0) return 0;
    return this.run("renewSessionLocks", async () => {
      const now = Date.now();
      const r = await this.pool.query(
        `UPDATE ${this.t.sessions} SET locked_until = $2
         WHERE worker_id = ANY($1::text[]) AND locked_until > $3 AND last_activity_at > $4`,
        [ownerIds, now + extendMs, now, now - idleTimeoutMs],
      );
      return r.rowCount ?? 0;
    });
  }

  async cleanupOrphanedSessions(_idleTimeoutMs: number): Promise<number> {
    return this.run("cleanupOrphanedSessions", async () => {
      const r = await this.pool.query(
        `DELETE FROM ${this.t.sessions} s WHERE s.locked_until <= $1
           AND NOT EXISTS (SELECT 1 FROM ${this.t.workerQueue} w WHERE w.session_id = s.session_id)`,
        [Date.now()],
      );
      return r.rowCount ?? 0;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  private async readHistoryOrThrow(operation: string, instance: string, executionId: number): Promise<HistoryEvent[]> {
    const loaded = await this.loadHistory(this.pool, instance, executionId);
    if (!loaded.ok) throw new ProviderError(operation, loaded.error, false);
    return loaded.value;
  }

  async read(instance: string): Promise<HistoryEvent[]> {
    return this.run("read", async () => {
      const r = await this.pool.query<{ m: number | null }>(
        `SELECT MAX(execution_id) AS m FROM ${this.t.executions} WHERE instance_id = $1`,
        [instance],
      );
      const m = r.rows[0]?.m ?? null;
      if (m === null) return [];
      return this.readHistoryOrThrow("read", instance, m);
    });
  }

  async readExecution(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.run("readExecution", () => this.readHistoryOrThrow("readExecution", instance, executionId));
  }

  async getStatus(instance: string): Promise<StoredStatus | null> {
    return this.run("getStatus", async () => {
      const res = await this.pool.query<{
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
                      AND i.suspended_last_event = (SELECT COALESCE(MAX(h.event_id), 0) FROM ${this.t.history} h
                                                    WHERE h.instance_id = i.instance_id AND h.execution_id = i.current_execution_id)
                     THEN i.suspension END AS suspension
         FROM ${this.t.instances} i LEFT JOIN ${this.t.executions} e
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
    });
  }

  async getKvValue(instance: string, key: string): Promise<string | null> {
    return this.run("getKvValue", async () => {
      const res = await this.pool.query<{ in_delta: boolean; dv: string | null; sv: string | null }>(
        `SELECT (d.key IS NOT NULL) AS in_delta, d.value AS dv, s.value AS sv
         FROM (SELECT 1) one
         LEFT JOIN ${this.t.kvDelta} d ON d.instance_id = $1 AND d.key = $2
         LEFT JOIN ${this.t.kvStore} s ON s.instance_id = $1 AND s.key = $2`,
        [instance, key],
      );
      const row = res.rows[0];
      if (row === undefined) return null;
      return row.in_delta ? row.dv : row.sv;
    });
  }

  async getKvAllValues(instance: string): Promise<Record<string, string>> {
    return this.run("getKvAllValues", async () => {
      const res = await this.pool.query<{ src: string; key: string; value: string | null }>(
        `SELECT 's' AS src, key, value FROM ${this.t.kvStore} WHERE instance_id = $1
         UNION ALL
         SELECT 'd' AS src, key, value FROM ${this.t.kvDelta} WHERE instance_id = $1`,
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
    });
  }
}

/**
 * Idle pool sockets and the LISTEN connection are unref'd (process lifetime), so nothing else may
 * hold the event loop while a caller awaits work on them alone (closing, connecting the listener):
 * without this, the process would end with the caller's promise pending.
 */
async function holdingEventLoop<T>(work: () => Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 60_000);
  try {
    return await work();
  } finally {
    clearInterval(hold);
  }
}
