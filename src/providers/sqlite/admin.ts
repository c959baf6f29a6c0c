// The SQLite side of the management API: its SQL, run synchronously (a better-sqlite3 transaction
// must not span an await). The algorithms are shared, in ../adminAlgorithms.ts.
import type Database from "better-sqlite3";

import { ProviderError } from "../../model/errors.js";
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
import { providerClosed } from "../operations.js";
import { runSync, type Step } from "../steps.js";

type Stmt = Database.Statement<unknown[], unknown>;

/** `IN` over a JSON array of ids, bound as one parameter. */
const IN_IDS = "(SELECT value FROM json_each(?))";

class SqliteAdminQueries implements AdminQueries {
  constructor(private readonly stmt: (sql: string) => Stmt) {}

  private ids(sql: string, ...params: unknown[]): string[] {
    return (this.stmt(sql).all(...params) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  *instanceIds(): Step<string[]> {
    return this.ids("SELECT instance_id FROM instances ORDER BY created_at DESC, rowid DESC");
  }

  *instanceIdsByStatus(status: ExecutionStatus): Step<string[]> {
    return this.ids(
      `SELECT i.instance_id FROM instances i JOIN executions e
         ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
       WHERE e.status = ? ORDER BY i.created_at DESC, i.rowid DESC`,
      status,
    );
  }

  *executionIds(instance: string): Step<number[]> {
    const rows = this.stmt("SELECT execution_id FROM executions WHERE instance_id = ? ORDER BY execution_id").all(instance) as {
      execution_id: number;
    }[];
    return rows.map((r) => r.execution_id);
  }

  *instanceRow(instance: string): Step<InstanceRow | undefined> {
    return this.stmt(
      `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id,
              i.created_at, i.updated_at, i.parent_instance_id, e.status, e.output, e.failure
       FROM instances i LEFT JOIN executions e
         ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
       WHERE i.instance_id = ?`,
    ).get(instance) as InstanceRow | undefined;
  }

  *executionRow(instance: string, executionId: number): Step<ExecutionRow | undefined> {
    return this.stmt(
      `SELECT e.status, e.output, e.failure, e.started_at, e.completed_at,
              (SELECT COUNT(*) FROM history h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id) AS event_count
       FROM executions e WHERE e.instance_id = ? AND e.execution_id = ?`,
    ).get(instance, executionId) as ExecutionRow | undefined;
  }

  *historyRows(instance: string, executionId: number): Step<HistoryRow[]> {
    return this.stmt("SELECT event_id, event_data FROM history WHERE instance_id = ? AND execution_id = ? ORDER BY event_id").all(
      instance,
      executionId,
    ) as HistoryRow[];
  }

  *metricsRow(): Step<MetricsRow | undefined> {
    return this.stmt(
      `SELECT
         (SELECT COUNT(*) FROM instances) AS total_instances,
         (SELECT COUNT(*) FROM executions) AS total_executions,
         (SELECT COUNT(*) FROM history) AS total_events,
         COALESCE(SUM(CASE WHEN COALESCE(e.status, 'Running') = 'Running' THEN 1 ELSE 0 END), 0) AS running,
         COALESCE(SUM(CASE WHEN e.status = 'Completed' THEN 1 ELSE 0 END), 0) AS completed,
         COALESCE(SUM(CASE WHEN e.status = 'Failed' THEN 1 ELSE 0 END), 0) AS failed
       FROM instances i LEFT JOIN executions e
         ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id`,
    ).get() as MetricsRow | undefined;
  }

  *queueDepthRow(now: number): Step<QueueDepthRow | undefined> {
    return this.stmt(
      `SELECT
         (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.visible_at <= @now
            AND NOT EXISTS (SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > @now)) AS orch,
         (SELECT COUNT(*) FROM worker_queue w WHERE w.visible_at <= @now
            AND (w.lock_token IS NULL OR w.locked_until <= @now)) AS worker,
         (SELECT COUNT(*) FROM orchestrator_queue q WHERE q.visible_at > @now) AS timers`,
    ).get({ now }) as QueueDepthRow | undefined;
  }

  *childIds(instance: string): Step<string[]> {
    return this.ids("SELECT instance_id FROM instances WHERE parent_instance_id = ? ORDER BY created_at, rowid", instance);
  }

  *summaryRows(o: InstancePageQuery, limit: number): Step<SummaryRow[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit };
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
    return this.stmt(
      `SELECT instance_id, orchestration_name, orchestration_version, status, current_execution_id,
              created_at, updated_at, parent_instance_id
       FROM instances ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, instance_id DESC LIMIT @limit`,
    ).all(params) as SummaryRow[];
  }

  *statsRow(instance: string): Step<StatsRow | undefined> {
    const r = this.stmt(
      `SELECT
         (SELECT COUNT(*) FROM history WHERE instance_id = @id) AS events,
         (SELECT COALESCE(SUM(LENGTH(CAST(event_data AS BLOB))), 0) FROM history WHERE instance_id = @id) AS bytes,
         (SELECT COUNT(*) FROM orchestrator_queue WHERE instance_id = @id) +
           (SELECT COUNT(*) FROM worker_queue WHERE instance_id = @id) AS queued
       FROM instances WHERE instance_id = @id`,
    ).get({ id: instance }) as { events: number; bytes: number; queued: number } | undefined;
    if (r === undefined) return undefined;
    // KV as the instance sees it: kv_store overlaid with the current execution's kv_delta.
    const kv = this.stmt(
      `SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) AS bytes FROM (
         SELECT d.value AS value FROM kv_delta d WHERE d.instance_id = @id AND d.value IS NOT NULL
         UNION ALL
         SELECT s.value FROM kv_store s WHERE s.instance_id = @id
           AND NOT EXISTS (SELECT 1 FROM kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)
       )`,
    ).get({ id: instance }) as { n: number; bytes: number };
    return { ...r, kv_n: kv.n, kv_bytes: kv.bytes };
  }

  *instanceExists(instance: string): Step<boolean> {
    return this.stmt("SELECT 1 AS x FROM instances WHERE instance_id = ?").get(instance) !== undefined;
  }

  *treeIds(root: string): Step<string[]> {
    const rows = this.stmt(
      `WITH RECURSIVE tree(id, depth) AS (
         SELECT ?, 0
         UNION
         SELECT i.instance_id, t.depth + 1 FROM instances i JOIN tree t ON i.parent_instance_id = t.id
       )
       SELECT id FROM tree ORDER BY depth, id`,
    ).all(root) as { id: string }[];
    return rows.map((r) => r.id);
  }

  *deadLetterRows(afterId: number, limit: number): Step<DeadLetterRow[]> {
    return this.stmt("SELECT * FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?").all(afterId, limit) as DeadLetterRow[];
  }

  *deadLetterRow(id: number): Step<DeadLetterRow | undefined> {
    return this.stmt("SELECT * FROM dead_letters WHERE id = ?").get(id) as DeadLetterRow | undefined;
  }

  *deleteDeadLetter(id: number): Step<boolean> {
    return this.stmt("DELETE FROM dead_letters WHERE id = ?").run(id).changes > 0;
  }

  // ---- in a write transaction (BEGIN IMMEDIATE already excludes acks, so no lockInstances)

  *parentOf(instance: string): Step<{ parent_instance_id: string | null } | undefined> {
    return this.stmt("SELECT parent_instance_id FROM instances WHERE instance_id = ?").get(instance) as
      | { parent_instance_id: string | null }
      | undefined;
  }

  *firstLive(ids: readonly string[]): Step<string | undefined> {
    const row = this.stmt(`SELECT instance_id FROM instances WHERE instance_id IN ${IN_IDS} AND status IN ('Running','ContinuedAsNew') LIMIT 1`).get(
      JSON.stringify(ids),
    ) as { instance_id: string } | undefined;
    return row?.instance_id;
  }

  *deleteInstances(ids: readonly string[]): Step<DeleteInstanceResult> {
    const json = JSON.stringify(ids);
    const del = (table: string): number => this.stmt(`DELETE FROM ${table} WHERE instance_id IN ${IN_IDS}`).run(json).changes;
    const eventsDeleted = del("history");
    const executionsDeleted = del("executions");
    const queueMessagesDeleted = del("orchestrator_queue") + del("worker_queue");
    // Without its lock row an in-flight ack of a deleted instance fails instead of recreating it.
    del("instance_locks");
    del("kv_store");
    del("kv_delta");
    return { instancesDeleted: del("instances"), executionsDeleted, eventsDeleted, queueMessagesDeleted };
  }

  *deletableRoots(filter: { instanceIds?: readonly string[]; completedBefore?: number; limit: number }): Step<string[]> {
    const params: unknown[] = [];
    let sql = `SELECT i.instance_id FROM instances i
               LEFT JOIN executions e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
               WHERE i.parent_instance_id IS NULL AND i.status IN ('Completed','Failed')`;
    if (filter.instanceIds !== undefined) {
      sql += ` AND i.instance_id IN ${IN_IDS}`;
      params.push(JSON.stringify(filter.instanceIds));
    }
    if (filter.completedBefore !== undefined) {
      sql += " AND e.completed_at < ?";
      params.push(filter.completedBefore);
    }
    sql += " ORDER BY i.created_at, i.instance_id LIMIT ?";
    params.push(filter.limit);
    return this.ids(sql, ...params);
  }

  *prunableInstances(filter: { instanceIds?: readonly string[]; limit: number }): Step<string[]> {
    const params: unknown[] = [];
    let sql = `SELECT i.instance_id FROM instances i
               WHERE EXISTS (SELECT 1 FROM executions e WHERE e.instance_id = i.instance_id AND e.execution_id <> i.current_execution_id)`;
    if (filter.instanceIds !== undefined) {
      sql += ` AND i.instance_id IN ${IN_IDS}`;
      params.push(JSON.stringify(filter.instanceIds));
    }
    sql += " ORDER BY i.created_at, i.instance_id LIMIT ?";
    params.push(filter.limit);
    return this.ids(sql, ...params);
  }

  *pruneOld(instance: string, keepLast: number, completedBefore: number | undefined): Step<{ executionsDeleted: number; eventsDeleted: number } | null> {
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
    let eventsDeleted = 0;
    const delH = this.stmt("DELETE FROM history WHERE instance_id = ? AND execution_id = ?");
    const delE = this.stmt("DELETE FROM executions WHERE instance_id = ? AND execution_id = ?");
    for (const x of execs) {
      eventsDeleted += delH.run(instance, x).changes;
      delE.run(instance, x);
    }
    return { executionsDeleted: execs.length, eventsDeleted };
  }
}

export class SqliteAdmin extends StoreAdmin {
  constructor(db: Database.Database, stmt: (sql: string) => Stmt, wrapError: (operation: string, err: unknown) => Error) {
    const queries = new SqliteAdminQueries(stmt);
    const run = <R>(operation: string, fn: () => R): R => {
      if (!db.open) throw providerClosed(operation);
      try {
        return fn();
      } catch (err) {
        throw wrapError(operation, err);
      }
    };
    const store: AdminStore = {
      run: async (operation, body) => run(operation, () => runSync(body(queries))),
      // One BEGIN IMMEDIATE transaction: all or nothing, serialised with acks.
      write: async (operation, body) => run(operation, () => db.transaction(() => runSync(body(queries))).immediate()),
    };
    super(store);
  }
}
