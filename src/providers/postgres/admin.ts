// Management queries (ProviderAdmin) over the PostgreSQL schema.
import type { Pool, PoolClient } from "pg";
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
import { decodeEvent, decodeFailure, num, numOrNull } from "./codec.js";
import type { Tables } from "./schemaName.js";

export class PostgresAdmin implements ProviderAdmin {
  constructor(
    private readonly pool: Pool,
    private readonly t: Tables,
    private readonly wrap: (operation: string, err: unknown) => Error,
    /** Prefix of the per-instance advisory lock keys the provider's fetch and ack take. */
    private readonly lockPrefix: string,
  ) {}

  readonly deadLetters: DeadLetterAdmin = {
    listDeadLetters: (options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> => {
      const limit = deadLetterLimit(options.limit);
      return this.run("listDeadLetters", async () => {
        const r = await this.pool.query<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} WHERE id > $1 ORDER BY id LIMIT $2`, [
          options.afterId ?? 0,
          limit,
        ]);
        return r.rows.map(toDeadLetter);
      });
    },
    getDeadLetter: (id: number): Promise<DeadLetter | null> =>
      this.run("getDeadLetter", async () => {
        const r = await this.pool.query<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} WHERE id = $1`, [id]);
        return r.rows[0] === undefined ? null : toDeadLetter(r.rows[0]);
      }),
    discardDeadLetter: (id: number): Promise<boolean> =>
      this.run("discardDeadLetter", async () => {
        const r = await this.pool.query(`DELETE FROM ${this.t.deadLetters} WHERE id = $1`, [id]);
        return (r.rowCount ?? 0) > 0;
      }),
  };

  /** One transaction; rolled back if `fn` throws. */
  private async tx<R>(operation: string, fn: (c: PoolClient) => Promise<R>): Promise<R> {
    return this.run(operation, async () => {
      const c = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await c.query("BEGIN");
        try {
          const r = await fn(c);
          await c.query("COMMIT");
          return r;
        } catch (err) {
          await c.query("ROLLBACK").catch((e: unknown) => {
            broken = e instanceof Error ? e : new Error(String(e));
          });
          throw err;
        }
      } finally {
        c.release(broken);
      }
    });
  }

  private async run<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(operation, err);
    }
  }

  async listInstances(): Promise<string[]> {
    return this.run("listInstances", async () => {
      const r = await this.pool.query<{ instance_id: string }>(
        `SELECT instance_id FROM ${this.t.instances} ORDER BY created_at DESC, instance_id`,
      );
      return r.rows.map((x) => x.instance_id);
    });
  }

  async listInstancesByStatus(status: ExecutionStatus): Promise<string[]> {
    return this.run("listInstancesByStatus", async () => {
      const r = await this.pool.query<{ instance_id: string }>(
        `SELECT i.instance_id FROM ${this.t.instances} i
         LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
         WHERE COALESCE(e.status, 'Running') = $1
         ORDER BY i.created_at DESC, i.instance_id`,
        [status],
      );
      return r.rows.map((x) => x.instance_id);
    });
  }

  async listExecutions(instance: string): Promise<number[]> {
    return this.run("listExecutions", async () => {
      const r = await this.pool.query<{ execution_id: number }>(
        `SELECT execution_id FROM ${this.t.executions} WHERE instance_id = $1 ORDER BY execution_id`,
        [instance],
      );
      return r.rows.map((x) => num(x.execution_id));
    });
  }

  async getInstanceInfo(instance: string): Promise<InstanceInfo> {
    return this.run("getInstanceInfo", async () => {
      const r = await this.pool.query<{
        orchestration_name: string;
        orchestration_version: string | null;
        current_execution_id: number;
        status: ExecutionStatus | null;
        output: string | null;
        failure: string | null;
        created_at: number;
        updated_at: number;
        parent_instance_id: string | null;
      }>(
        `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, e.output, e.failure,
                i.created_at, i.updated_at, i.parent_instance_id
         FROM ${this.t.instances} i
         LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
         WHERE i.instance_id = $1`,
        [instance],
      );
      const row = r.rows[0];
      if (row === undefined) throw new InstanceNotFoundError(instance);
      return {
        instanceId: instance,
        orchestrationName: row.orchestration_name,
        orchestrationVersion: row.orchestration_version ?? "unknown",
        currentExecutionId: num(row.current_execution_id),
        status: row.status ?? "Running",
        output: row.output,
        failure: decodeFailure(row.failure),
        createdAt: num(row.created_at),
        updatedAt: num(row.updated_at),
        parentInstanceId: row.parent_instance_id,
      };
    });
  }

  async getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo> {
    return this.run("getExecutionInfo", async () => {
      const r = await this.pool.query<{
        status: ExecutionStatus;
        output: string | null;
        failure: string | null;
        started_at: number;
        completed_at: number | null;
        event_count: number;
      }>(
        `SELECT e.status, e.output, e.failure, e.started_at, e.completed_at,
                (SELECT count(*) FROM ${this.t.history} h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id)::int AS event_count
         FROM ${this.t.executions} e WHERE e.instance_id = $1 AND e.execution_id = $2`,
        [instance, executionId],
      );
      const row = r.rows[0];
      if (row === undefined) {
        throw new ProviderError("getExecutionInfo", `Instance ${instance} execution ${executionId} not found`, false);
      }
      return {
        executionId,
        status: row.status,
        output: row.output,
        failure: decodeFailure(row.failure),
        startedAt: num(row.started_at),
        completedAt: numOrNull(row.completed_at),
        eventCount: num(row.event_count),
      };
    });
  }

  async readHistory(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.run("readHistory", async () => {
      const r = await this.pool.query<{ event_id: number; event_data: string }>(
        `SELECT event_id, event_data FROM ${this.t.history} WHERE instance_id = $1 AND execution_id = $2 ORDER BY event_id`,
        [instance, executionId],
      );
      return r.rows.map((row) => {
        const d = decodeEvent(row.event_data);
        if (!d.ok) throw new ProviderError("readHistory", `event ${row.event_id} of ${instance}: ${d.error}`, false);
        return d.value;
      });
    });
  }

  async getSystemMetrics(): Promise<SystemMetrics> {
    return this.run("getSystemMetrics", async () => {
      const r = await this.pool.query<{
        total_instances: number;
        running: number;
        completed: number;
        failed: number;
        total_executions: number;
        total_events: number;
      }>(
        `SELECT
           (SELECT count(*) FROM ${this.t.instances})::int AS total_instances,
           count(*) FILTER (WHERE COALESCE(e.status, 'Running') = 'Running')::int AS running,
           count(*) FILTER (WHERE e.status = 'Completed')::int AS completed,
           count(*) FILTER (WHERE e.status = 'Failed')::int AS failed,
           (SELECT count(*) FROM ${this.t.executions})::int AS total_executions,
           (SELECT count(*) FROM ${this.t.history})::int AS total_events
         FROM ${this.t.instances} i
         LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id`,
      );
      const row = r.rows[0];
      return {
        totalInstances: num(row?.total_instances),
        totalExecutions: num(row?.total_executions),
        runningInstances: num(row?.running),
        completedInstances: num(row?.completed),
        failedInstances: num(row?.failed),
        totalEvents: num(row?.total_events),
      };
    });
  }

  async getQueueDepths(): Promise<QueueDepths> {
    return this.run("getQueueDepths", async () => {
      // Ready work: visible and not held by a live lock; timers: messages not yet visible.
      const r = await this.pool.query<{ o: number; w: number; timers: number }>(
        `SELECT
           (SELECT count(*) FROM ${this.t.orchestratorQueue} q WHERE q.visible_at <= $1
              AND NOT EXISTS (SELECT 1 FROM ${this.t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > $1))::int AS o,
           (SELECT count(*) FROM ${this.t.workerQueue} w WHERE w.visible_at <= $1
              AND (w.lock_token IS NULL OR w.locked_until <= $1))::int AS w,
           (SELECT count(*) FROM ${this.t.orchestratorQueue} q WHERE q.visible_at > $1)::int AS timers`,
        [Date.now()],
      );
      return { orchestratorQueue: num(r.rows[0]?.o), workerQueue: num(r.rows[0]?.w), timerQueue: num(r.rows[0]?.timers) };
    });
  }

  async listChildren(instance: string): Promise<string[]> {
    return this.run("listChildren", async () => {
      const r = await this.pool.query<{ instance_id: string }>(
        `SELECT instance_id FROM ${this.t.instances} WHERE parent_instance_id = $1 ORDER BY created_at, instance_id`,
        [instance],
      );
      return r.rows.map((x) => x.instance_id);
    });
  }

  // ------------------------------------------------------------------ paging

  async listInstancesPage(options: ListInstancesOptions = {}): Promise<InstancePage> {
    const o = normalizePageOptions(options);
    return this.run("listInstancesPage", async () => {
      const where: string[] = [];
      const params: unknown[] = [];
      const p = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      if (o.status !== null) where.push(`status = ${p(o.status)}`);
      if (o.name !== null) where.push(`orchestration_name = ${p(o.name)}`);
      if (o.after !== null) where.push(`created_at >= ${p(o.after)}`);
      if (o.before !== null) where.push(`created_at < ${p(o.before)}`);
      if (o.cursor !== null) where.push(`(created_at, instance_id) < (${p(o.cursor.createdAt)}::bigint, ${p(o.cursor.instanceId)}::text)`);
      const r = await this.pool.query<SummaryRow>(
        `SELECT instance_id, orchestration_name, orchestration_version, status, current_execution_id,
                created_at, updated_at, parent_instance_id
         FROM ${this.t.instances} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, instance_id DESC LIMIT ${p(o.limit + 1)}`,
        params,
      );
      const more = r.rows.length > o.limit;
      const page = more ? r.rows.slice(0, o.limit) : r.rows;
      const items = page.map(toSummary);
      const last = items[items.length - 1];
      return {
        items,
        instanceIds: items.map((i) => i.instanceId),
        nextCursor: more && last !== undefined ? encodeCursor(last.createdAt, last.instanceId) : null,
      };
    });
  }

  // ------------------------------------------------------------------ trees and deletion

  private async treeIds(q: Pool | PoolClient, root: string): Promise<string[]> {
    const r = await q.query<{ id: string }>(
      `WITH RECURSIVE tree(id, depth) AS (
         SELECT $1::text, 0
         UNION
         SELECT i.instance_id, t.depth + 1 FROM ${this.t.instances} i JOIN tree t ON i.parent_instance_id = t.id
       )
       SELECT id FROM tree ORDER BY depth, id`,
      [root],
    );
    return r.rows.map((x) => x.id);
  }

  async getInstanceTree(instance: string): Promise<InstanceTree> {
    return this.run("getInstanceTree", async () => {
      const e = await this.pool.query(`SELECT 1 FROM ${this.t.instances} WHERE instance_id = $1`, [instance]);
      if (e.rows.length === 0) throw new InstanceNotFoundError(instance);
      const allIds = await this.treeIds(this.pool, instance);
      return { rootId: instance, allIds, size: allIds.length };
    });
  }

  /**
   * The tree of `root` with every member's advisory lock held (the lock fetch and ack take), so
   * no turn of a member is acked concurrently; re-read until stable (a concurrent ack may add a child).
   */
  private async lockTree(c: PoolClient, root: string): Promise<string[]> {
    const locked = new Set<string>();
    for (;;) {
      const ids = await this.treeIds(c, root);
      const fresh = ids.filter((id) => !locked.has(id)).sort();
      if (fresh.length === 0) return ids;
      await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || id, 0)) FROM unnest($2::text[]) AS u(id)`, [
        this.lockPrefix,
        fresh,
      ]);
      for (const id of fresh) locked.add(id);
    }
  }

  private async deleteIds(c: PoolClient, ids: readonly string[]): Promise<DeleteInstanceResult> {
    const t = this.t;
    const r = await c.query<{ h: number; e: number; o: number; w: number; i: number }>(
      `WITH h AS (DELETE FROM ${t.history} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            e AS (DELETE FROM ${t.executions} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            o AS (DELETE FROM ${t.orchestratorQueue} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            w AS (DELETE FROM ${t.workerQueue} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            l AS (DELETE FROM ${t.instanceLocks} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            ks AS (DELETE FROM ${t.kvStore} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            kd AS (DELETE FROM ${t.kvDelta} WHERE instance_id = ANY($1::text[]) RETURNING 1),
            i AS (DELETE FROM ${t.instances} WHERE instance_id = ANY($1::text[]) RETURNING 1)
       SELECT (SELECT count(*) FROM h)::int AS h, (SELECT count(*) FROM e)::int AS e, (SELECT count(*) FROM o)::int AS o,
              (SELECT count(*) FROM w)::int AS w, (SELECT count(*) FROM i)::int AS i,
              (SELECT count(*) FROM l)::int + (SELECT count(*) FROM ks)::int + (SELECT count(*) FROM kd)::int AS other`,
      [ids],
    );
    const row = r.rows[0];
    return {
      instancesDeleted: num(row?.i),
      executionsDeleted: num(row?.e),
      eventsDeleted: num(row?.h),
      queueMessagesDeleted: num(row?.o) + num(row?.w),
    };
  }

  private async liveIn(c: PoolClient, ids: readonly string[]): Promise<string | undefined> {
    const r = await c.query<{ instance_id: string }>(
      `SELECT instance_id FROM ${this.t.instances} WHERE instance_id = ANY($1::text[]) AND status IN ('Running','ContinuedAsNew') LIMIT 1`,
      [ids],
    );
    return r.rows[0]?.instance_id;
  }

  async deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult> {
    return this.tx("deleteInstance", async (c) => {
      const r = await c.query<{ parent_instance_id: string | null }>(
        `SELECT parent_instance_id FROM ${this.t.instances} WHERE instance_id = $1`,
        [instance],
      );
      const row = r.rows[0];
      if (row === undefined) throw new InstanceNotFoundError(instance);
      if (row.parent_instance_id !== null) throw new CannotDeleteSubOrchestrationError(instance, await this.rootOf(c, instance));
      const ids = await this.lockTree(c, instance);
      if (!force) {
        const live = await this.liveIn(c, ids);
        if (live !== undefined) throw new InstanceStillRunningError(live);
      }
      return this.deleteIds(c, ids);
    });
  }

  private async rootOf(c: PoolClient, instance: string): Promise<string> {
    const r = await c.query<{ id: string }>(
      `WITH RECURSIVE up(id, parent, depth) AS (
         SELECT instance_id, parent_instance_id, 0 FROM ${this.t.instances} WHERE instance_id = $1
         UNION
         SELECT i.instance_id, i.parent_instance_id, u.depth + 1 FROM ${this.t.instances} i JOIN up u ON i.instance_id = u.parent
         WHERE u.depth < 1000
       )
       SELECT id FROM up ORDER BY depth DESC LIMIT 1`,
      [instance],
    );
    return r.rows[0]?.id ?? instance;
  }

  async deleteInstanceBulk(filter: InstanceFilter = {}): Promise<DeleteInstanceResult> {
    const limit = normalizeBulkLimit(filter.limit);
    const total: DeleteInstanceResult = { instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 };
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return total;
    return this.tx("deleteInstanceBulk", async (c) => {
      const params: unknown[] = [];
      let sql = `SELECT i.instance_id FROM ${this.t.instances} i
                 LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
                 WHERE i.parent_instance_id IS NULL AND i.status IN ('Completed','Failed')`;
      if (filter.instanceIds !== undefined) {
        params.push(filter.instanceIds);
        sql += ` AND i.instance_id = ANY($${params.length}::text[])`;
      }
      if (filter.completedBefore !== undefined) {
        params.push(filter.completedBefore);
        sql += ` AND e.completed_at < $${params.length}`;
      }
      params.push(limit);
      sql += ` ORDER BY i.created_at, i.instance_id LIMIT $${params.length}`;
      const roots = (await c.query<{ instance_id: string }>(sql, params)).rows.map((r) => r.instance_id);
      for (const root of roots) {
        const ids = await this.lockTree(c, root);
        if ((await this.liveIn(c, ids)) !== undefined) continue; // a member still runs: leave the tree alone
        const r = await this.deleteIds(c, ids);
        total.instancesDeleted += r.instancesDeleted;
        total.executionsDeleted += r.executionsDeleted;
        total.eventsDeleted += r.eventsDeleted;
        total.queueMessagesDeleted += r.queueMessagesDeleted;
      }
      return total;
    });
  }

  // ------------------------------------------------------------------ pruning

  private async pruneOne(c: PoolClient, instance: string, keepLast: number, completedBefore: number | undefined): Promise<PruneResult | null> {
    const t = this.t;
    const r = await c.query<{ found: boolean; e: number; h: number }>(
      `WITH inst AS (
         SELECT current_execution_id FROM ${t.instances} WHERE instance_id = $1 FOR UPDATE
       ), victims AS (
         SELECT x.execution_id FROM ${t.executions} x, inst
         WHERE x.instance_id = $1 AND x.execution_id <> inst.current_execution_id AND x.status <> 'Running'
           AND x.execution_id NOT IN (SELECT execution_id FROM ${t.executions} WHERE instance_id = $1 ORDER BY execution_id DESC LIMIT $2)
           AND ($3::bigint IS NULL OR (x.completed_at IS NOT NULL AND x.completed_at < $3::bigint))
       ), h AS (
         DELETE FROM ${t.history} WHERE instance_id = $1 AND execution_id IN (SELECT execution_id FROM victims) RETURNING 1
       ), e AS (
         DELETE FROM ${t.executions} WHERE instance_id = $1 AND execution_id IN (SELECT execution_id FROM victims) RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM inst) AS found, (SELECT count(*) FROM e)::int AS e, (SELECT count(*) FROM h)::int AS h`,
      [instance, keepLast, completedBefore ?? null],
    );
    const row = r.rows[0];
    if (row === undefined || !row.found) return null;
    return { instancesProcessed: 1, executionsDeleted: num(row.e), eventsDeleted: num(row.h) };
  }

  async pruneExecutions(instance: string, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    return this.tx("pruneExecutions", async (c) => {
      const r = await this.pruneOne(c, instance, keepLast, options.completedBefore);
      if (r === null) throw new InstanceNotFoundError(instance);
      return r;
    });
  }

  async pruneExecutionsBulk(filter: InstanceFilter = {}, options: PruneOptions = {}): Promise<PruneResult> {
    const keepLast = normalizeKeepLast(options.keepLast);
    const limit = normalizeBulkLimit(filter.limit);
    const total: PruneResult = { instancesProcessed: 0, executionsDeleted: 0, eventsDeleted: 0 };
    if (limit === 0 || (filter.instanceIds !== undefined && filter.instanceIds.length === 0)) return total;
    const a = options.completedBefore;
    const b = filter.completedBefore;
    const cutoff = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    return this.tx("pruneExecutionsBulk", async (c) => {
      const params: unknown[] = [];
      let sql = `SELECT i.instance_id FROM ${this.t.instances} i
                 WHERE EXISTS (SELECT 1 FROM ${this.t.executions} e WHERE e.instance_id = i.instance_id AND e.execution_id <> i.current_execution_id)`;
      if (filter.instanceIds !== undefined) {
        params.push(filter.instanceIds);
        sql += ` AND i.instance_id = ANY($${params.length}::text[])`;
      }
      params.push(limit);
      sql += ` ORDER BY i.created_at, i.instance_id LIMIT $${params.length}`;
      const ids = (await c.query<{ instance_id: string }>(sql, params)).rows.map((r) => r.instance_id);
      for (const id of ids) {
        const r = await this.pruneOne(c, id, keepLast, cutoff);
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
    return this.run("getOrchestrationStats", async () => {
      const t = this.t;
      // KV as the instance sees it: kv_store overlaid with the current execution's kv_delta.
      const r = await this.pool.query<{ events: number; bytes: number; queued: number; kv_n: number; kv_bytes: number }>(
        `WITH kv AS (
           SELECT d.value FROM ${t.kvDelta} d WHERE d.instance_id = $1 AND d.value IS NOT NULL
           UNION ALL
           SELECT s.value FROM ${t.kvStore} s WHERE s.instance_id = $1
             AND NOT EXISTS (SELECT 1 FROM ${t.kvDelta} d WHERE d.instance_id = s.instance_id AND d.key = s.key)
         )
         SELECT
           (SELECT count(*) FROM ${t.history} WHERE instance_id = $1)::int AS events,
           (SELECT COALESCE(sum(octet_length(event_data)), 0) FROM ${t.history} WHERE instance_id = $1)::bigint AS bytes,
           ((SELECT count(*) FROM ${t.orchestratorQueue} WHERE instance_id = $1) +
            (SELECT count(*) FROM ${t.workerQueue} WHERE instance_id = $1))::int AS queued,
           (SELECT count(*) FROM kv)::int AS kv_n,
           (SELECT COALESCE(sum(octet_length(value)), 0) FROM kv)::bigint AS kv_bytes
         FROM ${t.instances} WHERE instance_id = $1`,
        [instance],
      );
      const row = r.rows[0];
      if (row === undefined) return null;
      return {
        historyEventCount: num(row.events),
        historySizeBytes: num(row.bytes),
        queuePendingCount: num(row.queued),
        kvUserKeyCount: num(row.kv_n),
        kvTotalValueBytes: num(row.kv_bytes),
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
    currentExecutionId: num(r.current_execution_id),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    parentInstanceId: r.parent_instance_id,
  };
}
