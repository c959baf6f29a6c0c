// The PostgreSQL side of the management API: its SQL over the pool (or one client in a
// transaction). The algorithms are shared, in ../adminAlgorithms.ts.
import type { Pool, PoolClient } from "pg";

import type { ExecutionStatus } from "../../model/status.js";
import type { DeadLetterRow, DeleteInstanceResult, InstancePageQuery } from "../admin.js";
import {
  StoreAdmin,
  type AdminQueries,
  type AdminStore,
  type ExecutionRow,
  type HistoryRow,
  type InstanceRow,
  type MetricsRow,
  type QueueDepthRow,
  type StatsRow,
  type SummaryRow,
} from "../adminAlgorithms.js";
import { awaited, runAsync, type Step } from "../steps.js";
import { num } from "./codec.js";
import type { Tables } from "./schemaName.js";

class PostgresAdminQueries implements AdminQueries {
  constructor(
    private readonly db: Pool | PoolClient,
    private readonly t: Tables,
    /** Prefix of the per-instance advisory lock keys the provider's fetch and ack take. */
    private readonly lockPrefix: string,
  ) {}

  private *rows<R extends object>(sql: string, params: unknown[] = []): Step<R[]> {
    return (yield* awaited(this.db.query<R>(sql, params))).rows;
  }

  private *first<R extends object>(sql: string, params: unknown[] = []): Step<R | undefined> {
    return (yield* this.rows<R>(sql, params))[0];
  }

  private *ids(sql: string, params: unknown[] = []): Step<string[]> {
    return (yield* this.rows<{ instance_id: string }>(sql, params)).map((r) => r.instance_id);
  }

  *instanceIds(): Step<string[]> {
    return yield* this.ids(`SELECT instance_id FROM ${this.t.instances} ORDER BY created_at DESC, instance_id`);
  }

  *instanceIdsByStatus(status: ExecutionStatus): Step<string[]> {
    return yield* this.ids(
      `SELECT i.instance_id FROM ${this.t.instances} i
       LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
       WHERE COALESCE(e.status, 'Running') = $1
       ORDER BY i.created_at DESC, i.instance_id`,
      [status],
    );
  }

  *executionIds(instance: string): Step<string[]> {
    const rows = yield* this.rows<{ execution_id: string }>(
      `SELECT execution_id FROM ${this.t.executions} WHERE instance_id = $1 ORDER BY execution_id`,
      [instance],
    );
    return rows.map((r) => r.execution_id);
  }

  *instanceRow(instance: string): Step<InstanceRow | undefined> {
    return yield* this.first<InstanceRow>(
      `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, e.output, e.failure,
              i.created_at, i.updated_at, i.parent_instance_id
       FROM ${this.t.instances} i
       LEFT JOIN ${this.t.executions} e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
       WHERE i.instance_id = $1`,
      [instance],
    );
  }

  *executionRow(instance: string, executionId: number): Step<ExecutionRow | undefined> {
    return yield* this.first<ExecutionRow>(
      `SELECT e.status, e.output, e.failure, e.started_at, e.completed_at,
              (SELECT count(*) FROM ${this.t.history} h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id)::int AS event_count
       FROM ${this.t.executions} e WHERE e.instance_id = $1 AND e.execution_id = $2`,
      [instance, executionId],
    );
  }

  *historyRows(instance: string, executionId: number): Step<HistoryRow[]> {
    return yield* this.rows<HistoryRow>(
      `SELECT event_id, event_data FROM ${this.t.history} WHERE instance_id = $1 AND execution_id = $2 ORDER BY event_id`,
      [instance, executionId],
    );
  }

  *metricsRow(): Step<MetricsRow | undefined> {
    return yield* this.first<MetricsRow>(
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
  }

  *queueDepthRow(now: number): Step<QueueDepthRow | undefined> {
    return yield* this.first<QueueDepthRow>(
      `SELECT
         (SELECT count(*) FROM ${this.t.orchestratorQueue} q WHERE q.visible_at <= $1
            AND NOT EXISTS (SELECT 1 FROM ${this.t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > $1))::int AS orch,
         (SELECT count(*) FROM ${this.t.workerQueue} w WHERE w.visible_at <= $1
            AND (w.lock_token IS NULL OR w.locked_until <= $1))::int AS worker,
         (SELECT count(*) FROM ${this.t.orchestratorQueue} q WHERE q.visible_at > $1)::int AS timers`,
      [now],
    );
  }

  *childIds(instance: string): Step<string[]> {
    return yield* this.ids(`SELECT instance_id FROM ${this.t.instances} WHERE parent_instance_id = $1 ORDER BY created_at, instance_id`, [instance]);
  }

  *summaryRows(o: InstancePageQuery, limit: number): Step<SummaryRow[]> {
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
    return yield* this.rows<SummaryRow>(
      `SELECT instance_id, orchestration_name, orchestration_version, status, current_execution_id,
              created_at, updated_at, parent_instance_id
       FROM ${this.t.instances} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, instance_id DESC LIMIT ${p(limit)}`,
      params,
    );
  }

  *statsRow(instance: string): Step<StatsRow | undefined> {
    const t = this.t;
    // KV as the instance sees it: kv_store overlaid with the current execution's kv_delta.
    return yield* this.first<StatsRow>(
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
  }

  *instanceExists(instance: string): Step<boolean> {
    return (yield* this.rows(`SELECT 1 FROM ${this.t.instances} WHERE instance_id = $1`, [instance])).length > 0;
  }

  *treeIds(root: string): Step<string[]> {
    const rows = yield* this.rows<{ id: string }>(
      `WITH RECURSIVE tree(id, depth) AS (
         SELECT $1::text, 0
         UNION
         SELECT i.instance_id, t.depth + 1 FROM ${this.t.instances} i JOIN tree t ON i.parent_instance_id = t.id
       )
       SELECT id FROM tree ORDER BY depth, id`,
      [root],
    );
    return rows.map((r) => r.id);
  }

  *deadLetterRows(afterId: number, limit: number): Step<DeadLetterRow[]> {
    return yield* this.rows<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
  }

  *deadLetterRow(id: number): Step<DeadLetterRow | undefined> {
    return yield* this.first<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} WHERE id = $1`, [id]);
  }

  *deleteDeadLetter(id: number): Step<boolean> {
    const r = yield* awaited(this.db.query(`DELETE FROM ${this.t.deadLetters} WHERE id = $1`, [id]));
    return (r.rowCount ?? 0) > 0;
  }

  // ---- in a write transaction

  *parentOf(instance: string): Step<{ parent_instance_id: string | null } | undefined> {
    return yield* this.first<{ parent_instance_id: string | null }>(
      `SELECT parent_instance_id FROM ${this.t.instances} WHERE instance_id = $1`,
      [instance],
    );
  }

  /** The advisory locks fetch and ack take, held to the end of the transaction. */
  *lockInstances(ids: readonly string[]): Step<void> {
    yield* this.rows(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || id, 0)) FROM unnest($2::text[]) AS u(id)`, [
      this.lockPrefix,
      ids,
    ]);
  }

  *firstLive(ids: readonly string[]): Step<string | undefined> {
    const r = yield* this.ids(
      `SELECT instance_id FROM ${this.t.instances} WHERE instance_id = ANY($1::text[]) AND status IN ('Running','ContinuedAsNew') LIMIT 1`,
      [ids],
    );
    return r[0];
  }

  *deleteInstances(ids: readonly string[]): Step<DeleteInstanceResult> {
    const t = this.t;
    const row = yield* this.first<{ h: number; e: number; o: number; w: number; i: number }>(
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
    return {
      instancesDeleted: num(row?.i),
      executionsDeleted: num(row?.e),
      eventsDeleted: num(row?.h),
      queueMessagesDeleted: num(row?.o) + num(row?.w),
    };
  }

  *deletableRoots(filter: { instanceIds?: readonly string[]; completedBefore?: number; limit: number }): Step<string[]> {
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
    params.push(filter.limit);
    sql += ` ORDER BY i.created_at, i.instance_id LIMIT $${params.length}`;
    return yield* this.ids(sql, params);
  }

  *prunableInstances(filter: { instanceIds?: readonly string[]; limit: number }): Step<string[]> {
    const params: unknown[] = [];
    let sql = `SELECT i.instance_id FROM ${this.t.instances} i
               WHERE EXISTS (SELECT 1 FROM ${this.t.executions} e WHERE e.instance_id = i.instance_id AND e.execution_id <> i.current_execution_id)`;
    if (filter.instanceIds !== undefined) {
      params.push(filter.instanceIds);
      sql += ` AND i.instance_id = ANY($${params.length}::text[])`;
    }
    params.push(filter.limit);
    sql += ` ORDER BY i.created_at, i.instance_id LIMIT $${params.length}`;
    return yield* this.ids(sql, params);
  }

  *pruneOld(instance: string, keepLast: number, completedBefore: number | undefined): Step<{ executionsDeleted: number; eventsDeleted: number } | null> {
    const t = this.t;
    const row = yield* this.first<{ found: boolean; e: number; h: number }>(
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
    if (row === undefined || !row.found) return null;
    return { executionsDeleted: num(row.e), eventsDeleted: num(row.h) };
  }
}

export class PostgresAdmin extends StoreAdmin {
  constructor(pool: Pool, t: Tables, wrap: (operation: string, err: unknown) => Error, lockPrefix: string) {
    const run = async <R>(operation: string, fn: () => Promise<R>): Promise<R> => {
      try {
        return await fn();
      } catch (err) {
        throw wrap(operation, err);
      }
    };
    const onPool = new PostgresAdminQueries(pool, t, lockPrefix);
    const store: AdminStore = {
      run: (operation, body) => run(operation, () => runAsync(body(onPool))),
      // One transaction on one client; rolled back if the body throws.
      write: (operation, body) =>
        run(operation, async () => {
          const c = await pool.connect();
          let broken: Error | undefined;
          try {
            await c.query("BEGIN");
            try {
              const r = await runAsync(body(new PostgresAdminQueries(c, t, lockPrefix)));
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
        }),
    };
    super(store);
  }
}
