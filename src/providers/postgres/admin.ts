// Management queries (ProviderAdmin) over the PostgreSQL schema.
import type { Pool } from "pg";
import type { HistoryEvent } from "../../model/events.js";
import { InstanceNotFoundError, ProviderError } from "../../model/errors.js";
import type { ExecutionStatus } from "../../model/status.js";
import type { ExecutionInfo, InstanceInfo, ProviderAdmin, QueueDepths, SystemMetrics } from "../admin.js";
import { decodeEvent, num, numOrNull } from "./codec.js";
import type { Tables } from "./schemaName.js";

export class PostgresAdmin implements ProviderAdmin {
  constructor(
    private readonly pool: Pool,
    private readonly t: Tables,
    private readonly wrap: (operation: string, err: unknown) => Error,
  ) {}

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
        created_at: number;
        updated_at: number;
        parent_instance_id: string | null;
      }>(
        `SELECT i.orchestration_name, i.orchestration_version, i.current_execution_id, e.status, e.output,
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
        started_at: number;
        completed_at: number | null;
        event_count: number;
      }>(
        `SELECT e.status, e.output, e.started_at, e.completed_at,
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
}
