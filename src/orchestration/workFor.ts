// The work a new decision event sends out: an activity to the worker queue; a timer, a child or a
// detached orchestration to the orchestrator queue. Replayed events send nothing (their work went
// out with the turn that recorded them).
import type { HistoryEvent } from "../model/events.js";
import type { WorkItem } from "../model/workItems.js";

export interface ExecutionIdentity {
  readonly instance: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;
}

export type Work = { queue: "worker" | "orchestrator"; item: WorkItem };

export function workFor(e: HistoryEvent, x: ExecutionIdentity): Work | null {
  switch (e.type) {
    case "ActivityScheduled":
      return {
        queue: "worker",
        item: {
          type: "ActivityExecute",
          instance: x.instance,
          executionId: x.executionId,
          id: e.eventId,
          name: e.name,
          input: e.input,
          ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
          ...(e.tag !== undefined ? { tag: e.tag } : {}),
          orchestrationName: x.orchestrationName,
          orchestrationVersion: x.orchestrationVersion,
          ...(e.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: e.heartbeatTimeoutMs } : {}),
          ...(e.failWhenLost === true ? { failWhenLost: true } : {}),
          ...(e.heartbeatDetails !== undefined ? { heartbeatDetails: e.heartbeatDetails } : {}),
        },
      };
    case "TimerCreated":
      return {
        queue: "orchestrator",
        item: { type: "TimerFired", instance: x.instance, executionId: x.executionId, id: e.eventId, fireAtMs: e.fireAtMs },
      };
    case "SubOrchestrationScheduled":
      return startOf(e, { parentInstance: x.instance, parentId: e.eventId, parentExecutionId: x.executionId });
    case "OrchestrationChained":
      return startOf(e, null); // detached: no parent hears of it
    default:
      return null;
  }
}

/** A child's or a detached orchestration's first execution. */
function startOf(
  e: { instance: string; name: string; input: string; version?: string | null | undefined },
  parent: { parentInstance: string; parentId: number; parentExecutionId: number } | null,
): Work {
  return {
    queue: "orchestrator",
    item: { type: "StartOrchestration", instance: e.instance, orchestration: e.name, input: e.input, version: e.version ?? null, parent, executionId: 1 },
  };
}
