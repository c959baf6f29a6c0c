// Management queries for the SQLite provider.
import type Database from "better-sqlite3";

import type { HistoryEvent } from "../../model/events.js";
import { InstanceNotFoundError, ProviderError } from "../../model/errors.js";
import type { ExecutionStatus } from "../../model/status.js";
import type { ExecutionInfo, InstanceInfo, ProviderAdmin, QueueDepths, SystemMetrics } from "../admin.js";
import { decodeEvent } from "./codec.js";

type Stmt = Database.Statement<unknown[], unknown>;

export class SqliteAdmin implements ProviderAdmin {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: (sql: string) => Stmt,
    private readonly wrapError: (operation: string, err: unknown) => Error,
  ) {}

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
                i.created_at, i.updated_at, i.parent_instance_id, e.status, e.output
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
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        parentInstanceId: r.parent_instance_id,
      };
    });
  }

  async getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo> {
    return this.run("getExecutionInfo", () => {
      const r = this.stmt(
        `SELECT e.execution_id, e.status, e.output, e.started_at, e.completed_at,
                (SELECT COUNT(*) FROM history h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id) AS event_count
         FROM executions e WHERE e.instance_id = ? AND e.execution_id = ?`,
      ).get(instance, executionId) as
        | {
            execution_id: number;
            status: ExecutionStatus;
            output: string | null;
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
}
