// Management queries for the SQLite provider.
import type Database from "better-sqlite3";

import type { HistoryEvent } from "../../model/events.js";
import { CannotDeleteSubOrchestrationError, InstanceNotFoundError, InstanceStillRunningError, ProviderError } from "../../model/errors.js";
import type { ExecutionStatus } from "../../model/status.js";
import {
  encodeCursor,
  normalizeBulkLimit,
  normalizeKeepLast,
  normalizePageOptions,
  type DeleteInstanceResult,
  type ExecutionInfo,
  type InstanceFilter,
  type InstanceInfo,
  type InstancePage,
  type InstanceSummary,
  type InstanceTree,
  type ListInstancesOptions,
  type OrchestrationStats,
  type ProviderAdmin,
  type PruneOptions,
  type PruneResult,
  type QueueDepths,
  type SystemMetrics,
  type DeadLetter,
  type DeadLetterAdmin,
  type ListDeadLettersOptions,
  deadLetterLimit,
  toDeadLetter,
  type DeadLetterRow,
} from "../admin.js";
import { decodeEvent, decodeFailure } from "./codec.js";

type Stmt = Database.Statement<unknown[], unknown>;

export class SqliteAdmin implements ProviderAdmin {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: (sql: string) => Stmt,
    private readonly wrapError: (operation: string, err: unknown) => Error,
  ) {}

  readonly deadLetters: DeadLetterAdmin = {
    listDeadLetters: async (options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> => {
      const limit = deadLetterLimit(options.limit);
      return this.run("listDeadLetters", () =>
        (this.stmt("SELECT * FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?").all(options.afterId ?? 0, limit) as DeadLetterRow[]).map(toDeadLetter),
      );
    },
    getDeadLetter: async (id: number): Promise<DeadLetter | null> =>
      this.run("getDeadLetter", () => {
        const r = this.stmt("SELECT * FROM dead_letters WHERE id = ?").get(id) as DeadLetterRow | undefined;
        return r === undefined ? null : toDeadLetter(r);
      }),
    discardDeadLetter: async (id: number): Promise<boolean> =>
      this.run("discardDeadLetter", () => this.stmt("DELETE FROM dead_letters WHERE id = ?").run(id).changes > 0),
  };

  /** Runs `fn` in one BEGIN IMMEDIATE transaction (all-or-nothing, serialised with acks). */
  private tx<R>(operation: string, fn: () => R): R {
    return this.run(operation, () => this.db.transaction(fn).immediate());
  }

  private run<R>(operation: string, fn: () => R): R {
    if (!this.db.open) throw new ProviderError(operation, "provider is closed", false);
    try {
      return fn();
    } catch (err) {
      throw this.wrapError(operation, err);
    }
  }

  async listInstances(): Promise<string[]> {
    return this.run("listInstances", () =>
      (this.stmt("SELECT instance_id FROM instances ORDER BY created_at DESC, rowid DESC").all() as { instance_id: string }[]).map(
        (r) => r.instance_id,
      ),
    );
  }

  async listInstancesByStatus(status: ExecutionStatus): Promise<string[]> {
    return this.run("listInstancesByStatus", () =>
      (
        this.stmt(
          `SELECT i.instance_id FROM instances i JOIN executions e
             ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
           WHERE e.status = ? ORDER BY i.created_at DESC, i.rowid DESC`,
        ).all(status) as { instance_id: string }[]
      ).map((r) => r.instance_id),
    );
  }

  async listExecutions(instance: string): Promise<number[]> {
    return this.run("listExecutions", () =>
      (
        this.stmt("SELECT execution_id FROM executions WHERE instance_id = ? ORDER BY execution_id").all(instance) as {
          execution_id: number;
        }[]
      ).map((r) => r.execution_id),
    );
  }

  async getInstanceInfo(instance: string): Promise<InstanceInfo> {
    return this.run("getInstanceInfo", () => {
      const r = this.stmt(
        `SELECT i.instance_id, i.orchestration_name, i.orchestration_version, i.current_execution_id,
                i.created_at, i.updated_at, i.parent_instance_id, e.status, e.output, e.failure
         FROM instances i LEFT JOIN executions e
           ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
         WHERE i.instance_id = ?`,
      ).get(instance) as
        | {
            instance_id: string;
            orchestration_name: string;
            orchestration_version: string | null;
            current_execution_id: number;
            created_at: number;
            updated_at: number;
            parent_instance_id: string | null;
            status: ExecutionStatus | null;
            output: string | null;
            failure: string | null;
          }
        | undefined;
      if (r === undefined) throw new InstanceNotFoundError(instance);
      return {
        instanceId: r.instance_id,
        orchestrationName: r.orchestration_name,
        orchestrationVersion: r.orchestration_version ?? "unknown",
        currentExecutionId: r.current_execution_id,
        status: r.status ?? "Running",
        output: r.output,
        failure: decodeFailure(r.failure),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        parentInstanceId: r.parent_instance_id,
      };
    });
  }

  async getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo> {
    return this.run("getExecutionInfo", () => {
      const r = this.stmt(
        `SELECT e.execution_id, e.status, e.output, e.failure, e.started_at, e.completed_at,
                (SELECT COUNT(*) FROM history h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id) AS event_count
         FROM executions e WHERE e.instance_id = ? AND e.execution_id = ?`,
      ).get(instance, executionId) as
        | {
            execution_id: number;
            status: ExecutionStatus;
            output: string | null;
            failure: string | null;
            started_at: number;
            completed_at: number | null;
            event_count: number;
          }
        | undefined;
      if (r === undefined) {
        throw new ProviderError("getExecutionInfo", `Execution ${executionId} of instance ${instance} not found`, false);
      }
      return {
        executionId: r.execution_id,
        status: r.status,
        output: r.output,
        failure: decodeFailure(r.failure),
        startedAt: r.started_at,
        completedAt: r.completed_at,
        eventCount: r.event_count,
      };
    });
  }

  async readHistory(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.run("readHistory", () => {
      const rows = this.stmt(
        "SELECT event_id, event_data FROM history WHERE instance_id = ? AND execution_id = ? ORDER BY event_id",
      ).all(instance, executionId) as { event_id: number; event_data: string }[];
      return rows.map((row) => {
        const d = decodeEvent(row.event_data);
        if (!d.ok) throw new ProviderError("readHistory", `event ${row.event_id}: ${d.error}`, false);
        return d.value;
      });
    });
  }

  async getSystemMetrics(): Promise<SystemMetrics> {
    return this.run("getSystemMetrics", () => {
      const r = this.stmt(
        `SELECT
           (SELECT COUNT(*) FROM instances) AS total_instances,
           (SELECT COUNT(*) FROM executions) AS total_executions,
           (SELECT COUNT(*) FROM history) AS total_events,
           COALESCE(SUM(CASE WHEN COALESCE(e.status, 'Running') = 'Running' THEN 1 ELSE 0 END), 0) AS running,
           COALESCE(SUM(CASE WHEN e.status = 'Completed' THEN 1 ELSE 0 END), 0) AS completed,
           COALESCE(SUM(CASE WHEN e.status = 'Failed' THEN 1 ELSE 0 END), 0) AS failed
         FROM instances i LEFT JOIN executions e
           ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id`,
      ).get() as {
        total_instances: number;
        total_executions: number;
        total_events: number;
        running: number;
        completed: number;
        failed: number;
      };
      return {
        totalInstances: r.total_instances,
        totalExecutions: r.total_executions,
        runningInstances: r.running,
        completedInstances: r.completed,
        failedInstances: r.failed,
        totalEvents: r.total_events,
      };
    });
  }

  /**
   * Counts messages a dispatcher could take right now: orchestrator rows that are visible and whose
   * instance is not locked, and worker rows that are visible and unlocked (or whose lock expired).
   * `timerQueue` counts orchestrator rows that are not visible yet (pending timers, delayed items).
   */
  async getQueueDepths(): Promise<QueueDepths> {
    return this.run("getQueueDepths", () => {
      const now = Date.now();
      const r = this.stmt(
        `SELECT
           (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.visible_at <= @now
              AND NOT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > @now)) AS orch,
           (SELECT COUNT(*) FROM worker_queue w WHERE w.visible_at <= @now
              AND (w.lock_token IS NULL OR w.locked_until <= @now)) AS worker,
           (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.visible_at > @now) AS timers`,
      ).get({ now }) as { orch: number; worker: number; timers: number };
      return { orchestratorQueue: r.orch, workerQueue: r.worker, timerQueue: r.timers };
    });
  }

  async listChildren(instance: string): Promise<string[]> {
    return this.run("listChildren", () =>
      (
        this.stmt("SELECT instance_id FROM instances WHERE parent_instance_id = ? ORDER BY created_at, rowid").all(instance) as {
          instance_id: string;
        }[]
      ).map((r) => r.instance_id),
    );
  }

  // ------------------------------------------------------------------ paging

  async listInstancesPage(options: ListInstancesOptions = {}): Promise<InstancePage> {
    const o = normalizePageOptions(options);
    return this.run("listInstancesPage", () => {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: o.limit + 1 };
      if (o.status !== null) {
        where.push("status = @status");
        params["status"] = o.status;
      }
      if (o.name !== null) {
        where.push("orchestration_name = @name");
        params["name"] = o.name;
      }
      if (o.after !== null) {
        where.push("created_at >= @after");
        params["after"] = o.after;
      }
      if (o.before !== null) {
        where.push("created_at < @before");
        params["before"] = o.before;
      }
      if (o.cursor !== null) {
        where.push("(created_at, instance_id) < (@cAt, @cId)");
        params["cAt"] = o.cursor.createdAt;
        params["cId"] = o.cursor.instanceId;
      }
      const rows = this.stmt(
        `SELECT instance_id, orchestration_name, orchestration_version, status, current_execution_id,
                created_at, updated_at, parent_instance_id
         FROM instances ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, instance_id DESC LIMIT @limit`,
      ).all(params) as SummaryRow[];
      const more = rows.length > o.limit;
      const page = more ? rows.slice(0, o.limit) : rows;
      const items = page.map(toSummary);
      const last = page[page.length - 1];
      return {
        items,
        instanceIds: items.map((i) => i.instanceId),
        nextCursor: more && last !== undefined ? encodeCursor(last.created_at, last.instance_id) : null,
      };
    });
  }

  // ------------------------------------------------------------------ trees and deletion

  /** The ids of `root`'s tree, root first (breadth-first by depth). */
  private treeIds(root: string): string[] {
    return (
      this.stmt(
        `WITH RECURSIVE tree(id, depth) AS (
           SELECT ?, 0
           UNION
           SELECT i.instance_id, t.depth + 1 FROM instances i JOIN tree t ON i.parent_instance_id = t.id
         )
         SELECT id FROM tree ORDER BY depth, id`,
      ).all(root) as { id: string }[]
    ).map((r) => r.id);
  }

  async getInstanceTree(instance: string): Promise<InstanceTree> {
    return this.run("getInstanceTree", () => {
      if (this.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance) === undefined)
        throw new InstanceNotFoundError(instance);
      const allIds = this.treeIds(instance);
      return { rootId: instance, allIds, size: allIds.length };
    });
  }

  /** Deletes every row of the given instances; runs inside the caller's transaction. */
  private deleteIds(ids: readonly string[]): DeleteInstanceResult {
    const r: DeleteInstanceResult = { instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 };
    const json = JSON.stringify(ids);
    const inIds = "(SELECT value FROM json_each(?))";
    r.eventsDeleted = this.stmt(`DELETE FROM history WHERE instance_id IN ${inIds}`).run(json).changes;
    r.executionsDeleted = this.stmt(`DELETE FROM executions WHERE instance_id IN ${inIds}`).run(json).changes;
    r.queueMessagesDeleted =
      this.stmt(`DELETE FROM orchestrator_queue WHERE instance_id IN ${inIds}`).run(json).changes +
      this.stmt(`DELETE FROM worker_queue WHERE instance_id IN ${inIds}`).run(json).changes;
    // Without its lock row an in-flight ack of a deleted instance fails instead of recreating it.
    this.stmt(`DELETE FROM instance_locks WHERE instance_id IN ${inIds}`).run(json);
    this.stmt(`DELETE FROM kv_store WHERE instance_id IN ${inIds}`).run(json);
    this.stmt(`DELETE FROM kv_delta WHERE instance_id IN ${inIds}`).run(json);
    r.instancesDeleted = this.stmt(`DELETE FROM instances WHERE instance_id IN ${inIds}`).run(json).changes;
    return r;
  }

  private liveIn(ids: readonly string[]): string | undefined {
    const row = this.stmt(
      "SELECT instance_id FROM instances WHERE instance_id IN (SELECT value FROM json_each(?)) AND status IN ('Running','ContinuedAsNew') LIMIT 1",
    ).get(JSON.stringify(ids)) as { instance_id: string } | undefined;
    return row?.instance_id;
  }

  async deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult> {
    return this.tx("deleteInstance", () => {
      const row = this.stmt("SELECT parent_instance_id, status FROM instances WHERE instance_id = ?").get(instance) as
        | { parent_instance_id: string | null; status: ExecutionStatus }
        | undefined;
      if (row === undefined) throw new InstanceNotFoundError(instance);
      if (row.parent_instance_id !== null) throw new CannotDeleteSubOrchestrationError(instance, this.rootOf(instance));
      const ids = this.treeIds(instance);
      if (!force) {
        const live = this.liveIn(ids);
        if (live !== undefined) throw new InstanceStillRunningError(live);
      }
      return this.deleteIds(ids);
    });
  }

  private rootOf(instance: string): string {
    let id = instance;
    const seen = new Set<string>();
    for (;;) {
      seen.add(id);
      const r = this.stmt("SELECT parent_instance_id FROM instances WHERE instance_id = ?").get(id) as
        | { parent_instance_id: string | null }
        | undefined;
      if (r === undefined || r.parent_instance_id === null || seen.has(r.parent_instance_id)) return id;
      id = r.parent_instance_id;
    }
  }

  async deleteInstanceBulk(filter: InstanceFilter = {}): Promise<DeleteInstanceResult> {
    const limit = normalizeBulkLimit(filter.limit);
    const total: DeleteInstanceResult = { instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 };
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return total;
    return this.tx("deleteInstanceBulk", () => {
      const params: unknown[] = [];
      let sql = `SELECT i.instance_id FROM instances i
                 LEFT JOIN executions e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
                 WHERE i.parent_instance_id IS NULL AND i.status IN ('Completed','Failed')`;
      if (filter.instanceIds !== undefined) {
        sql += " AND i.instance_id IN (SELECT value FROM json_each(?))";
        params.push(JSON.stringify(filter.instanceIds));
      }
      if (filter.completedBefore !== undefined) {
        sql += " AND e.completed_at < ?";
        params.push(filter.completedBefore);
      }
      sql += " ORDER BY i.created_at, i.instance_id LIMIT ?";
      params.push(limit);
      const roots = (this.stmt(sql).all(...params) as { instance_id: string }[]).map((r) => r.instance_id);
      for (const root of roots) {
        const ids = this.treeIds(root);
        if (this.liveIn(ids) !== undefined) continue; // a descendant still runs: leave the tree alone
        const r = this.deleteIds(ids);
        total.instancesDeleted += r.instancesDeleted;
        total.executionsDeleted += r.executionsDeleted;
        total.eventsDeleted += r.eventsDeleted;
        total.queueMessagesDeleted += r.queueMessagesDeleted;
      }
      return total;
    });
  }

  // ------------------------------------------------------------------ pruning

  /** Prunes one instance inside the caller's transaction; null if the instance is unknown. */
  private pruneOne(instance: string, keepLast: number, completedBefore: number | undefined): PruneResult | null {
    const inst = this.stmt("SELECT current_execution_id FROM instances WHERE instance_id = ?").get(instance) as
      | { current_execution_id: number }
      | undefined;
    if (inst === undefined) return null;
    const params: unknown[] = [instance, inst.current_execution_id, instance, keepLast];
    let sql = `SELECT execution_id FROM executions
               WHERE instance_id = ? AND execution_id <> ? AND status <> 'Running'
                 AND execution_id NOT IN (SELECT execution_id FROM executions WHERE instance_id = ? ORDER BY execution_id DESC LIMIT ?)`;
    if (completedBefore !== undefined) {
      sql += " AND completed_at IS NOT NULL AND completed_at < ?";
      params.push(completedBefore);
    }
    const execs = (this.stmt(sql).all(...params) as { execution_id: number }[]).map((r) => r.execution_id);
    let events = 0;
    const delH = this.stmt("DELETE FROM history WHERE instance_id = ? AND execution_id = ?");
    const delE = this.stmt("DELETE FROM executions WHERE instance_id = ? AND execution_id = ?");
    for (const x of execs) {
      events += delH.run(instance, x).changes;
      delE.run(instance, x);
    }
    return { instancesProcessed: 1, executionsDeleted: execs.length, eventsDeleted: events };
  }

  async pruneExecutions(instance: string, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    return this.tx("pruneExecutions", () => {
      const r = this.pruneOne(instance, keepLast, options.completedBefore);
      if (r === null) throw new InstanceNotFoundError(instance);
      return r;
    });
  }

  async pruneExecutionsBulk(filter: InstanceFilter = {}, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    const limit = normalizeBulkLimit(filter.limit);
    const total: PruneResult = { instancesProcessed: 0, executionsDeleted: 0, eventsDeleted: 0 };
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return total;
    const cutoff = minDefined(options.completedBefore, filter.completedBefore);
    return this.tx("pruneExecutionsBulk", () => {
      const params: unknown[] = [];
      // Only instances that have something besides their current execution.
      let sql = `SELECT i.instance_id FROM instances i
                 WHERE EXISTS (SELECT 1 FROM executions e WHERE e.instance_id = i.instance_id AND e.execution_id <> i.current_execution_id)`;
      if (filter.instanceIds !== undefined) {
        sql += " AND i.instance_id IN (SELECT value FROM json_each(?))";
        params.push(JSON.stringify(filter.instanceIds));
      }
      sql += " ORDER BY i.created_at, i.instance_id LIMIT ?";
      params.push(limit);
      const ids = (this.stmt(sql).all(...params) as { instance_id: string }[]).map((r) => r.instance_id);
      for (const id of ids) {
        const r = this.pruneOne(id, keepLast, cutoff);
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
    return this.run("getOrchestrationStats", () => {
      const r = this.stmt(
        `SELECT
           (SELECT COUNT(*) FROM history WHERE instance_id = @id) AS events,
           (SELECT COALESCE(SUM(LENGTH(CAST(event_data AS BLOB))), 0) FROM history WHERE instance_id = @id) AS bytes,
           (SELECT COUNT(*) FROM orchestrator_queue WHERE instance_id = @id) +
             (SELECT COUNT(*) FROM worker_queue WHERE instance_id = @id) AS queued
         FROM instances WHERE instance_id = @id`,
      ).get({ id: instance }) as { events: number; bytes: number; queued: number } | undefined;
      if (r === undefined) return null;
      // KV as the instance sees it: kv_store overlaid with the current execution's kv_delta.
      const kv = this.stmt(
        `SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) AS bytes FROM (
           SELECT d.value AS value FROM kv_delta d WHERE d.instance_id = @id AND d.value IS NOT NULL
           UNION ALL
           SELECT s.value FROM kv_store s WHERE s.instance_id = @id
             AND NOT EXISTS (SELECT 1 FROM kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)
         )`,
      ).get({ id: instance }) as { n: number; bytes: number };
      return {
        historyEventCount: r.events,
        historySizeBytes: r.bytes,
        queuePendingCount: r.queued,
        kvUserKeyCount: kv.n,
        kvTotalValueBytes: kv.bytes,
      };
    });
  }
}

interface SummaryRow {
  instance_id: string;
  orchestration_name: string;
  orchestration_version: string | null;
  status: ExecutionStatus;
  current_execution_id: number;
  created_at: number;
  updated_at: number;
  parent_instance_id: string | null;
}

function toSummary(r: SummaryRow): InstanceSummary {
  return {
    instanceId: r.instance_id,
    orchestrationName: r.orchestration_name,
    orchestrationVersion: r.orchestration_version ?? "unknown",
    status: r.status,
    currentExecutionId: r.current_execution_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    parentInstanceId: r.parent_instance_id,
  };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
