// Work items: the messages that flow through the provider's two queues.
import type { ErrorDetailsData } from "./errors.js";
import type { CarriedEvent } from "./events.js";
import type { TraceCarrier } from "./trace.js";

export interface ParentLink {
  parentInstance: string;
  parentId: number;
  parentExecutionId: number;
}

export type WorkItem =
  | {
      type: "StartOrchestration";
      instance: string;
      orchestration: string;
      input: string;
      /** null: resolve by registry policy (latest). */
      version: string | null;
      parent: ParentLink | null;
      executionId: number;
      /** When a client asked for the start (ms since epoch); absent for starts from a parent turn. */
      queuedAtMs?: number;
      /** Context of the span that asked for the start (client call or parent turn). */
      trace?: TraceCarrier;
    }
  | {
      type: "ActivityExecute";
      instance: string;
      executionId: number;
      /** The ActivityScheduled event id. */
      id: number;
      name: string;
      input: string;
      sessionId?: string;
      tag?: string;
      /** Denormalised so a worker never reads history to build its context. */
      orchestrationName: string;
      orchestrationVersion: string;
      /** Context of the turn that scheduled it. */
      trace?: TraceCarrier;
      /**
       * Heartbeat timeout: the item is leased for this long (not the worker lock timeout) and only
       * heartbeats renew it, so a worker that dies or stops heartbeating loses it within this time.
       */
      heartbeatTimeoutMs?: number;
      /**
       * Set by retry policies: an attempt lost to a heartbeat timeout is reported as a failure (the
       * policy decides what next) instead of being delivered again under the same id.
       */
      failWhenLost?: boolean;
      /** JSON of the last heartbeat of the previous attempt (a retry resuming where it stopped). */
      heartbeatDetails?: string;
    }
  | { type: "ActivityCompleted"; instance: string; executionId: number; id: number; result: string }
  | { type: "ActivityFailed"; instance: string; executionId: number; id: number; details: ErrorDetailsData }
  | { type: "TimerFired"; instance: string; executionId: number; id: number; fireAtMs: number }
  | { type: "ExternalRaised"; instance: string; name: string; data: string }
  | { type: "QueueMessage"; instance: string; name: string; data: string }
  | { type: "SubOrchCompleted"; parentInstance: string; parentExecutionId: number; parentId: number; result: string }
  | {
      type: "SubOrchFailed";
      parentInstance: string;
      parentExecutionId: number;
      parentId: number;
      details: ErrorDetailsData;
    }
  | { type: "CancelInstance"; instance: string; reason: string }
  | {
      type: "ContinueAsNew";
      instance: string;
      orchestration: string;
      input: string;
      version: string | null;
      carryForwardEvents: CarriedEvent[];
      initialCustomStatus: string | null;
      /** Kept so a child that continues as new still reports to its parent. */
      parent: ParentLink | null;
      /** Context of the turn that continued as new. */
      trace?: TraceCarrier;
    };

export type WorkItemType = WorkItem["type"];
export type WorkItemOf<T extends WorkItemType> = Extract<WorkItem, { type: T }>;
export type ActivityExecuteItem = WorkItemOf<"ActivityExecute">;

/** The instance whose orchestrator queue an item belongs to. */
export function targetInstance(item: WorkItem): string {
  switch (item.type) {
    case "SubOrchCompleted":
    case "SubOrchFailed":
      return item.parentInstance;
    default:
      return item.instance;
  }
}

/** Identity of a scheduled activity; used to withdraw it from the worker queue. */
export interface ActivityIdentity {
  instance: string;
  executionId: number;
  activityId: number;
}

/** One string per activity identity, for maps and sets. */
export function activityKey(a: ActivityIdentity): string {
  return `${a.instance}\u0000${a.executionId}\u0000${a.activityId}`;
}
