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
//     acks, worker acks and enqueues that come while one is in flight share one call and one
//     commit (groupCommit.ts, dx_batch); creations always go at once (a client's latency);
//   - wake-ups are NOTIFYed right after the commit (NotifyBatcher: coalesced, never inside the
//     write, where PostgreSQL would serialise every notifying commit behind one lock held through
//     its WAL flush; with the next batch of other writes when one is coming), so other processes
//     hear about committed writes only.
//
// This class is the public entry: it checks the provider is open and wraps errors; the SQL lives in
// the role files: connection.ts (pool, transactions), wakeups.ts (local listeners, NOTIFY, LISTEN),
// orchestratorQueue.ts, workerQueue.ts (with sessions), history.ts, reads.ts (status, KV),
// queueRows.ts, admin.ts, migrations.ts.
import type pg from "pg";
import type { Pool } from "pg";

import type { HistoryEvent } from "../../model/events.js";
import type { ErrorDetailsData } from "../../model/errors.js";
import type { ActivityIdentity, WorkItem } from "../../model/workItems.js";
import type { ProviderAdmin } from "../admin.js";
import { StoreOperations } from "../operations.js";
import type {
  AckResult,
  CompletionTurn,
  EnqueueOptions,
  FetchOrchestrationOptions,
  FetchWorkOptions,
  NotificationListener,
  OrchestrationAck,
  OrchestrationItem,
  Provider,
  StartTurn,
  StartTurnResult,
  StoredStatus,
  WorkAckOptions,
  WorkAckResult,
  WorkItemLease,
  WorkTurnAckResult,
} from "../provider.js";
import { PostgresAdmin } from "./admin.js";
import { holdingEventLoop, openPool, PgConnection, type PostgresProviderOptions } from "./connection.js";
import { entraPassword, type PostgresEntraOptions } from "./entra.js";
import { toProviderError } from "./errors.js";
import { readHistory, readLatestHistory } from "./history.js";
import { PgOrchestratorQueue } from "./orchestratorQueue.js";
import { readKvAllValues, readKvValue, readStatus } from "./reads.js";
import { PgGroupCommit } from "./groupCommit.js";
import { channelName, DEFAULT_SCHEMA, tablesOf } from "./schemaName.js";
import { PgWakeups } from "./wakeups.js";
import { PgWorkerQueue } from "./workerQueue.js";

export type { PostgresProviderOptions } from "./connection.js";

export class PostgresProvider implements Provider {
  readonly name = "postgres";

  /** LISTEN/NOTIFY carries every process's writes on this schema. */
  get notifiesAcrossProcesses(): boolean {
    return this.wakeups.acrossProcesses;
  }
  readonly admin: ProviderAdmin;
  /** The schema holding this provider's tables. */
  readonly schema: string;

  private readonly conn: PgConnection;
  private readonly wakeups: PgWakeups;
  private readonly orchestrator: PgOrchestratorQueue;
  private readonly worker: PgWorkerQueue;
  private readonly operations = new StoreOperations(toProviderError);

  private constructor(conn: PgConnection, wakeups: PgWakeups) {
    this.conn = conn;
    this.wakeups = wakeups;
    this.schema = conn.schema;
    this.admin = new PostgresAdmin(conn.pool, conn.t, (op, err) => toProviderError(op, err), conn.lockPrefix);
    this.orchestrator = new PgOrchestratorQueue(conn, (notes) => wakeups.emit(notes));
    this.worker = new PgWorkerQueue(conn, this.orchestrator);
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
    const pool = await openPool(connection, schema, options);
    const writes = new PgGroupCommit(pool, tablesOf(schema).schema);
    const wakeups = new PgWakeups(writes, connection, channelName(schema), options);
    return new PostgresProvider(new PgConnection(pool, schema, writes, (notes) => wakeups.committed(notes)), wakeups);
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  private async run<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    return this.operations.runAsync(operation, fn);
  }

  subscribe(listener: NotificationListener): () => void {
    return this.wakeups.subscribe(listener);
  }

  /** Resolves once the LISTEN connection is up (or its first attempt failed). For tests and startup. */
  async whenListening(): Promise<boolean> {
    return this.wakeups.whenListening();
  }

  /** Test hook: drops the LISTEN connection as a network failure would (it reconnects). */
  simulateListenerDisconnect(): void {
    this.wakeups.simulateListenerDisconnect();
  }

  /** The underlying pool. Escape hatch for tests and tooling; writing through it bypasses every invariant. */
  unsafeRawPool(): Pool {
    return this.conn.pool;
  }

  async close(): Promise<void> {
    if (!this.operations.close()) return;
    await holdingEventLoop(async () => {
      await this.wakeups.close();
      await this.conn.pool.end();
    });
  }

  // ------------------------------------------------------------------------------------------
  // Orchestrator queue

  async fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null> {
    return this.run("fetchOrchestrationItem", () => this.orchestrator.fetch(lockTimeoutMs, options));
  }

  async fetchOrchestrationItems(max: number, lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem[]> {
    return this.run("fetchOrchestrationItems", () => this.orchestrator.fetchMany(max, lockTimeoutMs, options));
  }

  async ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult> {
    return this.run("ackOrchestrationItem", () => this.orchestrator.ack(lockToken, ack));
  }

  async abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    const delay = Math.max(0, delayMs ?? 0);
    await this.run("abandonOrchestrationItem", () => this.orchestrator.abandon(lockToken, delay, ignoreAttempt === true));
  }

  async suspendOrchestrationItem(lockToken: string, error: ErrorDetailsData, retryInMs: number): Promise<void> {
    const delay = Math.max(0, retryInMs);
    await this.run("suspendOrchestrationItem", () => this.orchestrator.suspend(lockToken, error, delay));
  }

  async renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void> {
    await this.run("renewOrchestrationItemLock", () => this.orchestrator.renewLock(lockToken, extendMs));
  }

  async enqueueForOrchestrator(item: WorkItem, options: EnqueueOptions = {}): Promise<void> {
    await this.run("enqueueForOrchestrator", () => this.orchestrator.enqueue(item, options));
  }

  async createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    await this.run("createInstance", () => this.orchestrator.create(item));
  }

  async createInstanceWithTurn(item: WorkItem & { type: "StartOrchestration" }, turn: StartTurn): Promise<StartTurnResult> {
    return this.run("createInstance", () => this.orchestrator.createWithTurn(item, turn.ack));
  }

  // ------------------------------------------------------------------------------------------
  // Worker queue

  async enqueueForWorker(item: WorkItem): Promise<void> {
    await this.run("enqueueForWorker", () => this.worker.enqueue(item));
  }

  async fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    if (options.tagFilter.kind === "none") return null;
    return this.run("fetchWorkItem", () => this.worker.fetch(lockTimeoutMs, options));
  }

  async fetchWorkItems(max: number, lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease[]> {
    if (options.tagFilter.kind === "none") return [];
    return this.run("fetchWorkItems", () => this.worker.fetchMany(max, lockTimeoutMs, options));
  }

  async ackWorkItem(lockToken: string, completion: WorkItem | null, options?: WorkAckOptions): Promise<WorkAckResult> {
    return this.run("ackWorkItem", () => this.worker.ack(lockToken, completion, options));
  }

  async ackWorkItemWithTurn(lockToken: string, completion: WorkItem, turn: CompletionTurn, options?: WorkAckOptions): Promise<WorkTurnAckResult> {
    return this.run("ackWorkItem", () => this.worker.ackWithTurn(lockToken, completion, turn, options));
  }

  async renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void> {
    await this.run("renewWorkItemLock", () => this.worker.renew(lockToken, extendMs, heartbeatDetails));
  }

  async abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    const delay = Math.max(0, delayMs ?? 0);
    await this.run("abandonWorkItem", () => this.worker.abandon(lockToken, delay, ignoreAttempt === true));
  }

  async isActivityPending(id: ActivityIdentity): Promise<boolean> {
    return this.run("isActivityPending", () => this.worker.isActivityPending(id));
  }

  // ------------------------------------------------------------------------------------------
  // Sessions

  async renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    if (ownerIds.length === 0) return 0;
    return this.run("renewSessionLocks", () => this.worker.renewSessionLocks(ownerIds, extendMs, idleTimeoutMs));
  }

  async cleanupOrphanedSessions(_idleTimeoutMs: number): Promise<number> {
    return this.run("cleanupOrphanedSessions", () => this.worker.cleanupOrphanedSessions());
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  async read(instance: string): Promise<HistoryEvent[]> {
    return this.run("read", () => readLatestHistory(this.conn, instance));
  }

  async readExecution(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.run("readExecution", () => readHistory(this.conn, "readExecution", instance, executionId));
  }

  async getStatus(instance: string): Promise<StoredStatus | null> {
    return this.run("getStatus", () => readStatus(this.conn, instance));
  }

  async getKvValue(instance: string, key: string): Promise<string | null> {
    return this.run("getKvValue", () => readKvValue(this.conn, instance, key));
  }

  async getKvAllValues(instance: string): Promise<Record<string, string>> {
    return this.run("getKvAllValues", () => readKvAllValues(this.conn, instance));
  }
}
