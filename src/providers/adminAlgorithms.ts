// The management algorithms (ProviderAdmin) once for every store: option checks, instance trees,
// deletion with descendants, pruning of old executions, keyset paging, and turning rows into the
// admin types. A store supplies only its SQL, as `AdminQueries`, and how it runs a statement and a write
// transaction, as `AdminStore` (see steps.ts for how one algorithm serves sync and async drivers).
import type { HistoryEvent } from "../model/events.js";
import { CannotDeleteSubOrchestrationError, InstanceNotFoundError, InstanceStillRunningError, ProviderError } from "../model/errors.js";
import type { ExecutionStatus } from "../model/status.js";
import {
  deadLetterLimit,
  encodeCursor,
  normalizeBulkLimit,
  normalizeKeepLast,
  normalizePageOptions,
  toDeadLetter,
  type DeadLetter,
  type DeadLetterAdmin,
  type DeadLetterRow,
  type DeleteInstanceResult,
  type ExecutionInfo,
  type InstanceFilter,
  type InstanceInfo,
  type InstancePage,
  type InstancePageQuery,
  type InstanceSummary,
  type InstanceTree,
  type ListDeadLettersOptions,
  type ListInstancesOptions,
  type OrchestrationStats,
  type ProviderAdmin,
  type PruneOptions,
  type PruneResult,
  type QueueDepths,
  type SystemMetrics,
} from "./admin.js";
import { decodeEvent, decodeFailure, num, numOrNull } from "./codec.js";
import type { Step } from "./steps.js";

/** An integer column: a number from SQLite, a string from pg for BIGINT and COUNT. */
export type IntColumn = number | string;

/** An instance joined with its current execution (the execution columns are null when it has none). */
export interface InstanceRow {
  orchestration_name: string;
  orchestration_version: string | null;
  current_execution_id: IntColumn;
  created_at: IntColumn;
  updated_at: IntColumn;
  parent_instance_id: string | null;
  status: ExecutionStatus | null;
  output: string | null;
  failure: string | null;
}

export interface ExecutionRow {
  status: ExecutionStatus;
  output: string | null;
  failure: string | null;
  started_at: IntColumn;
  completed_at: IntColumn | null;
  event_count: IntColumn;
}

export interface HistoryRow {
  event_id: IntColumn;
  event_data: string;
}

/** Counts over all instances; the status counts are of current executions (none counts as Running). */
export interface MetricsRow {
  total_instances: IntColumn;
  total_executions: IntColumn;
  total_events: IntColumn;
  running: IntColumn;
  completed: IntColumn;
  failed: IntColumn;
}

/** Ready orchestrator messages (visible, instance unlocked), ready worker items, not-yet-visible orchestrator messages. */
export interface QueueDepthRow {
  orch: IntColumn;
  worker: IntColumn;
  timers: IntColumn;
}

/** The `instances` row a page lists (status is the denormalised current status). */
export interface SummaryRow {
  instance_id: string;
  orchestration_name: string;
  orchestration_version: string | null;
  status: ExecutionStatus;
  current_execution_id: IntColumn;
  created_at: IntColumn;
  updated_at: IntColumn;
  parent_instance_id: string | null;
}

/** An instance's footprint; KV as the instance sees it (kv_store overlaid with the current kv_delta). */
export interface StatsRow {
  events: IntColumn;
  bytes: IntColumn;
  queued: IntColumn;
  kv_n: IntColumn;
  kv_bytes: IntColumn;
}

/**
 * The SQL a store runs for the management API, nothing else. Each query is a step: a synchronous
 * store returns at once, an asynchronous one yields its promise. The queries under "in a write
 * transaction" are only called inside `AdminStore.write`.
 */
export interface AdminQueries {
  /** All instance ids, newest first. */
  instanceIds(): Step<string[]>;
  /** Ids of instances whose current execution has `status`, newest first. */
  instanceIdsByStatus(status: ExecutionStatus): Step<string[]>;
  executionIds(instance: string): Step<IntColumn[]>;
  instanceRow(instance: string): Step<InstanceRow | undefined>;
  executionRow(instance: string, executionId: number): Step<ExecutionRow | undefined>;
  historyRows(instance: string, executionId: number): Step<HistoryRow[]>;
  metricsRow(): Step<MetricsRow | undefined>;
  queueDepthRow(nowMs: number): Step<QueueDepthRow | undefined>;
  /** Direct children, oldest first. */
  childIds(instance: string): Step<string[]>;
  /** Up to `limit` instances matching `query` (its own limit is ignored), created_at DESC, instance_id DESC. */
  summaryRows(query: InstancePageQuery, limit: number): Step<SummaryRow[]>;
  /** Null for an unknown instance. */
  statsRow(instance: string): Step<StatsRow | undefined>;
  instanceExists(instance: string): Step<boolean>;
  /** `root` and its descendants, breadth-first by depth (root first). */
  treeIds(root: string): Step<string[]>;
  deadLetterRows(afterId: number, limit: number): Step<DeadLetterRow[]>;
  deadLetterRow(id: number): Step<DeadLetterRow | undefined>;
  deleteDeadLetter(id: number): Step<boolean>;

  // ---- in a write transaction
  /** Undefined for an unknown instance. */
  parentOf(instance: string): Step<{ parent_instance_id: string | null } | undefined>;
  /**
   * Takes the lock that fetch and ack take for each of these instances, for the rest of the
   * transaction. Absent when the write transaction already excludes acks (SQLite's BEGIN IMMEDIATE).
   */
  lockInstances?(ids: readonly string[]): Step<void>;
  /** One of `ids` that is Running or ContinuedAsNew, if any. */
  firstLive(ids: readonly string[]): Step<string | undefined>;
  /** Deletes every row of these instances (history, executions, both queues, locks, KV, instance). */
  deleteInstances(ids: readonly string[]): Step<DeleteInstanceResult>;
  /** Terminal roots (no parent; Completed or Failed) matching the filter, oldest first. */
  deletableRoots(filter: { instanceIds?: readonly string[]; completedBefore?: number; limit: number }): Step<string[]>;
  /** Instances with some execution besides the current one, oldest first. */
  prunableInstances(filter: { instanceIds?: readonly string[]; limit: number }): Step<string[]>;
  /**
   * Deletes the executions of `instance` that are not the current one, not Running, not among the
   * newest `keepLast`, and (when given) completed before `completedBefore`; null if the instance is unknown.
   */
  pruneOld(instance: string, keepLast: number, completedBefore: number | undefined): Step<{ executionsDeleted: number; eventsDeleted: number } | null>;
}

/** How a store runs queries: errors come out wrapped for `operation` (a ProviderError unless already ours). */
export interface AdminStore {
  /** Outside a transaction (single statements, reads). */
  run<R>(operation: string, body: (q: AdminQueries) => Step<R>): Promise<R>;
  /** One transaction, all or nothing, serialised with acks of the instances it touches. */
  write<R>(operation: string, body: (q: AdminQueries) => Step<R>): Promise<R>;
}

const emptyDelete = (): DeleteInstanceResult => ({ instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 });

/** ProviderAdmin over a store's queries; each backend's admin file extends it with its `AdminStore`. */
export class StoreAdmin implements ProviderAdmin {
  constructor(private readonly store: AdminStore) {}

  readonly deadLetters: DeadLetterAdmin = {
    listDeadLetters: async (options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> => {
      const limit = deadLetterLimit(options.limit);
      const rows = await this.store.run("listDeadLetters", (q) => q.deadLetterRows(options.afterId ?? 0, limit));
      return rows.map(toDeadLetter);
    },
    getDeadLetter: async (id: number): Promise<DeadLetter | null> => {
      const row = await this.store.run("getDeadLetter", (q) => q.deadLetterRow(id));
      return row === undefined ? null : toDeadLetter(row);
    },
    discardDeadLetter: (id: number): Promise<boolean> => this.store.run("discardDeadLetter", (q) => q.deleteDeadLetter(id)),
  };

  listInstances(): Promise<string[]> {
    return this.store.run("listInstances", (q) => q.instanceIds());
  }

  listInstancesByStatus(status: ExecutionStatus): Promise<string[]> {
    return this.store.run("listInstancesByStatus", (q) => q.instanceIdsByStatus(status));
  }

  async listExecutions(instance: string): Promise<number[]> {
    return (await this.store.run("listExecutions", (q) => q.executionIds(instance))).map(num);
  }

  getInstanceInfo(instance: string): Promise<InstanceInfo> {
    return this.store.run("getInstanceInfo", function* (q) {
      const r = yield* q.instanceRow(instance);
      if (r === undefined) throw new InstanceNotFoundError(instance);
      return {
        instanceId: instance,
        orchestrationName: r.orchestration_name,
        orchestrationVersion: r.orchestration_version ?? "unknown",
        currentExecutionId: num(r.current_execution_id),
        status: r.status ?? "Running",
        output: r.output,
        failure: decodeFailure(r.failure),
        createdAt: num(r.created_at),
        updatedAt: num(r.updated_at),
        parentInstanceId: r.parent_instance_id,
      };
    });
  }

  getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo> {
    return this.store.run("getExecutionInfo", function* (q) {
      const r = yield* q.executionRow(instance, executionId);
      if (r === undefined) throw new ProviderError("getExecutionInfo", `Execution ${executionId} of instance ${instance} not found`, false);
      return {
        executionId,
        status: r.status,
        output: r.output,
        failure: decodeFailure(r.failure),
        startedAt: num(r.started_at),
        completedAt: numOrNull(r.completed_at),
        eventCount: num(r.event_count),
      };
    });
  }

  readHistory(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.store.run("readHistory", function* (q) {
      const rows = yield* q.historyRows(instance, executionId);
      return rows.map((row) => {
        const d = decodeEvent(row.event_data);
        if (!d.ok) throw new ProviderError("readHistory", `event ${row.event_id} of ${instance}: ${d.error}`, false);
        return d.value;
      });
    });
  }

  async getSystemMetrics(): Promise<SystemMetrics> {
    const r = await this.store.run("getSystemMetrics", (q) => q.metricsRow());
    return {
      totalInstances: num(r?.total_instances),
      totalExecutions: num(r?.total_executions),
      runningInstances: num(r?.running),
      completedInstances: num(r?.completed),
      failedInstances: num(r?.failed),
      totalEvents: num(r?.total_events),
    };
  }

  /**
   * Counts messages a dispatcher could take right now: orchestrator rows that are visible and whose
   * instance is not locked, and worker rows that are visible and unlocked (or whose lock expired).
   * `timerQueue` counts orchestrator rows that are not visible yet (pending timers, delayed items).
   */
  async getQueueDepths(): Promise<QueueDepths> {
    const now = Date.now();
    const r = await this.store.run("getQueueDepths", (q) => q.queueDepthRow(now));
    return { orchestratorQueue: num(r?.orch), workerQueue: num(r?.worker), timerQueue: num(r?.timers) };
  }

  listChildren(instance: string): Promise<string[]> {
    return this.store.run("listChildren", (q) => q.childIds(instance));
  }

  // ------------------------------------------------------------------ paging

  async listInstancesPage(options: ListInstancesOptions = {}): Promise<InstancePage> {
    const o = normalizePageOptions(options);
    // One row more than the page tells whether there is a next page.
    const rows = await this.store.run("listInstancesPage", (q) => q.summaryRows(o, o.limit + 1));
    const more = rows.length > o.limit;
    const items = (more ? rows.slice(0, o.limit) : rows).map(toSummary);
    const last = items[items.length - 1];
    return {
      items,
      instanceIds: items.map((i) => i.instanceId),
      nextCursor: more && last !== undefined ? encodeCursor(last.createdAt, last.instanceId) : null,
    };
  }

  // ------------------------------------------------------------------ trees and deletion

  getInstanceTree(instance: string): Promise<InstanceTree> {
    return this.store.run("getInstanceTree", function* (q) {
      if (!(yield* q.instanceExists(instance))) throw new InstanceNotFoundError(instance);
      const allIds = yield* q.treeIds(instance);
      return { rootId: instance, allIds, size: allIds.length };
    });
  }

  deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult> {
    return this.store.write("deleteInstance", function* (q) {
      const row = yield* q.parentOf(instance);
      if (row === undefined) throw new InstanceNotFoundError(instance);
      if (row.parent_instance_id !== null) throw new CannotDeleteSubOrchestrationError(instance, yield* rootOf(q, instance));
      const ids = yield* lockTree(q, instance);
      if (!force) {
        const live = yield* q.firstLive(ids);
        if (live !== undefined) throw new InstanceStillRunningError(live);
      }
      return yield* q.deleteInstances(ids);
    });
  }

  async deleteInstanceBulk(filter: InstanceFilter = {}): Promise<DeleteInstanceResult> {
    const limit = normalizeBulkLimit(filter.limit);
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return emptyDelete();
    return this.store.write("deleteInstanceBulk", function* (q) {
      const total = emptyDelete();
      const roots = yield* q.deletableRoots({ instanceIds: filter.instanceIds, completedBefore: filter.completedBefore, limit });
      for (const root of roots) {
        const ids = yield* lockTree(q, root);
        if ((yield* q.firstLive(ids)) !== undefined) continue; // a member still runs: leave the tree alone
        const r = yield* q.deleteInstances(ids);
        total.instancesDeleted += r.instancesDeleted;
        total.executionsDeleted += r.executionsDeleted;
        total.eventsDeleted += r.eventsDeleted;
        total.queueMessagesDeleted += r.queueMessagesDeleted;
      }
      return total;
    });
  }

  // ------------------------------------------------------------------ pruning

  async pruneExecutions(instance: string, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    return this.store.write("pruneExecutions", function* (q) {
      const r = yield* q.pruneOld(instance, keepLast, options.completedBefore);
      if (r === null) throw new InstanceNotFoundError(instance);
      return { instancesProcessed: 1, ...r };
    });
  }

  async pruneExecutionsBulk(filter: InstanceFilter = {}, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    const limit = normalizeBulkLimit(filter.limit);
    const total: PruneResult = { instancesProcessed: 0, executionsDeleted: 0, eventsDeleted: 0 };
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return total;
    const cutoff = minDefined(options.completedBefore, filter.completedBefore);
    return this.store.write("pruneExecutionsBulk", function* (q) {
      const ids = yield* q.prunableInstances({ instanceIds: filter.instanceIds, limit });
      for (const id of ids) {
        const r = yield* q.pruneOld(id, keepLast, cutoff);
        if (r === null) continue;
        total.instancesProcessed += 1;
        total.executionsDeleted += r.executionsDeleted;
        total.eventsDeleted += r.eventsDeleted;
      }
      return total;
    });
  }

  // ------------------------------------------------------------------ stats

  async getOrchestrationStats(instance: string): Promise<OrchestrationStats | null> {
    const r = await this.store.run("getOrchestrationStats", (q) => q.statsRow(instance));
    if (r === undefined) return null;
    return {
      historyEventCount: num(r.events),
      historySizeBytes: num(r.bytes),
      queuePendingCount: num(r.queued),
      kvUserKeyCount: num(r.kv_n),
      kvTotalValueBytes: num(r.kv_bytes),
    };
  }
}

/**
 * The tree of `root`, with every member locked against concurrent acks when the store needs
 * explicit locks; re-read until stable, because an ack that finished first may have added a child.
 */
function* lockTree(q: AdminQueries, root: string): Step<string[]> {
  if (q.lockInstances === undefined) return yield* q.treeIds(root);
  const locked = new Set<string>();
  for (;;) {
    const ids = yield* q.treeIds(root);
    const fresh = ids.filter((id) => !locked.has(id)).sort();
    if (fresh.length === 0) return ids;
    yield* q.lockInstances(fresh);
    for (const id of fresh) locked.add(id);
  }
}

/** The top ancestor of `instance` (stops at an unknown parent or a cycle). */
function* rootOf(q: AdminQueries, instance: string): Step<string> {
  let id = instance;
  const seen = new Set<string>();
  for (;;) {
    seen.add(id);
    const r = yield* q.parentOf(id);
    if (r === undefined || r.parent_instance_id === null || seen.has(r.parent_instance_id)) return id;
    id = r.parent_instance_id;
  }
}

function toSummary(r: SummaryRow): InstanceSummary {
  return {
    instanceId: r.instance_id,
    orchestrationName: r.orchestration_name,
    orchestrationVersion: r.orchestration_version ?? "unknown",
    status: r.status,
    currentExecutionId: num(r.current_execution_id),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    parentInstanceId: r.parent_instance_id,
  };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
