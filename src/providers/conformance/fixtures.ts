// Builders for events, work items and acks used by the provider conformance suite.
import type { EventKind, HistoryEvent } from "../../model/events.js";
import { newEvent } from "../../model/eventFactory.js";
import type { ActivityExecuteItem, WorkItem, WorkItemOf } from "../../model/workItems.js";
import type { ExecutionMetadata, OrchestrationAck, OrchestrationItem, Provider } from "../provider.js";

export const ORCH_NAME = "TestOrch";
export const ORCH_VERSION = "1.0.0";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function event(instance: string, executionId: number, eventId: number, kind: EventKind, sourceEventId: number | null = null): HistoryEvent {
  return newEvent({ instanceId: instance, executionId, eventId, sourceEventId, timestampMs: Date.now() }, kind);
}

export function started(instance: string, executionId = 1, eventId = 1, input = "{}", parentInstance: string | null = null): HistoryEvent {
  return event(instance, executionId, eventId, {
    type: "OrchestrationStarted",
    name: ORCH_NAME,
    version: ORCH_VERSION,
    input,
    parentInstance,
    parentId: parentInstance === null ? null : 1,
    parentExecutionId: parentInstance === null ? null : 1,
  });
}

export function startItem(instance: string, opts: { version?: string | null; parent?: string } = {}): WorkItemOf<"StartOrchestration"> {
  return {
    type: "StartOrchestration",
    instance,
    orchestration: ORCH_NAME,
    input: "{}",
    version: opts.version === undefined ? ORCH_VERSION : opts.version,
    parent: opts.parent === undefined ? null : { parentInstance: opts.parent, parentId: 1, parentExecutionId: 1 },
    executionId: 1,
  };
}

export function activityItem(
  instance: string,
  id: number,
  opts: { executionId?: number; sessionId?: string; tag?: string; name?: string } = {},
): ActivityExecuteItem {
  const item: ActivityExecuteItem = {
    type: "ActivityExecute",
    instance,
    executionId: opts.executionId ?? 1,
    id,
    name: opts.name ?? "Act",
    input: `"input-${id}"`,
    orchestrationName: ORCH_NAME,
    orchestrationVersion: ORCH_VERSION,
  };
  if (opts.sessionId !== undefined) item.sessionId = opts.sessionId;
  if (opts.tag !== undefined) item.tag = opts.tag;
  return item;
}

export function completed(instance: string, id: number, result = '"ok"', executionId = 1): WorkItem {
  return { type: "ActivityCompleted", instance, executionId, id, result };
}

export function external(instance: string, name = "evt", data = '"data"'): WorkItem {
  return { type: "ExternalRaised", instance, name, data };
}

export function timerFired(instance: string, id: number, fireAtMs: number, executionId = 1): WorkItem {
  return { type: "TimerFired", instance, executionId, id, fireAtMs };
}

export function ack(executionId: number, parts: Partial<Omit<OrchestrationAck, "executionId" | "metadata">> & { metadata?: Partial<ExecutionMetadata> } = {}): OrchestrationAck {
  return {
    executionId,
    historyDelta: parts.historyDelta ?? [],
    workerItems: parts.workerItems ?? [],
    orchestratorItems: parts.orchestratorItems ?? [],
    cancelledActivities: parts.cancelledActivities ?? [],
    metadata: { orchestrationName: ORCH_NAME, orchestrationVersion: ORCH_VERSION, ...parts.metadata },
    ...(parts.leaseWorkerItems ? { leaseWorkerItems: parts.leaseWorkerItems } : {}),
  };
}

/** Creates an instance and runs its first turn (OrchestrationStarted, plus the given extras). */
export async function bootstrap(
  p: Provider,
  instance: string,
  extra: Partial<Omit<OrchestrationAck, "executionId" | "metadata">> & { metadata?: Partial<ExecutionMetadata> } = {},
): Promise<void> {
  await p.createInstance(startItem(instance));
  const item = await fetchFor(p, instance);
  await p.ackOrchestrationItem(item.lockToken, ack(1, { ...extra, historyDelta: [started(instance), ...(extra.historyDelta ?? [])] }));
}

/** Fetches until an item for `instance` comes back (other instances' items are abandoned). */
export async function fetchFor(p: Provider, instance: string, lockTimeoutMs = 5_000): Promise<OrchestrationItem> {
  const others: string[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const item = await p.fetchOrchestrationItem(lockTimeoutMs);
      if (item === null) break;
      if (item.instance === instance) return item;
      others.push(item.lockToken);
    }
  } finally {
    for (const t of others) await p.abandonOrchestrationItem(t);
  }
  throw new Error(`no orchestration item for ${instance}`);
}
