// Helpers to drive the replay engine with synthetic histories.
import { OrchestrationExecution, type TurnResult } from "../../src/orchestration/execution.js";
import type { OrchestrationHandler } from "../../src/orchestration/handler.js";
import type { HistoryEvent } from "../../src/model/events.js";
import type { WorkItem } from "../../src/model/workItems.js";

export const INSTANCE = "inst-1";

export function clockFrom(start = 1_000_000): () => number {
  let t = start;
  return () => t++;
}

export function newExecution(handler: OrchestrationHandler, opts: { executionId?: number; version?: string } = {}): OrchestrationExecution {
  let guid = 0;
  return new OrchestrationExecution({
    instance: INSTANCE,
    executionId: opts.executionId ?? 1,
    orchestrationName: "Orch",
    orchestrationVersion: opts.version ?? "1.0.0",
    handler,
    clock: clockFrom(),
    newGuid: () => `guid-${++guid}`,
  });
}

/** First turn of a new execution plus any messages. */
export async function firstTurn(handler: OrchestrationHandler, input: unknown, messages: WorkItem[] = []): Promise<{ x: OrchestrationExecution; r: TurnResult }> {
  const x = newExecution(handler);
  await x.start({ input: JSON.stringify(input), parent: null });
  await x.applyMessages(messages);
  const r = x.finishTurn();
  x.commit();
  return { x, r };
}

/** A cold turn: replay `history`, then deliver `messages`. */
export async function coldTurn(handler: OrchestrationHandler, history: HistoryEvent[], messages: WorkItem[] = []): Promise<{ x: OrchestrationExecution; r: TurnResult }> {
  const x = newExecution(handler);
  await x.replay(history);
  await x.applyMessages(messages);
  const r = x.finishTurn();
  x.commit();
  return { x, r };
}

export function activityDone(id: number, result: unknown, executionId = 1): WorkItem {
  return { type: "ActivityCompleted", instance: INSTANCE, executionId, id, result: JSON.stringify(result) };
}
export function activityFailed(id: number, message: string, executionId = 1): WorkItem {
  return {
    type: "ActivityFailed",
    instance: INSTANCE,
    executionId,
    id,
    details: { category: "application", kind: "ActivityFailed", message, retryable: false },
  };
}
export function timerFired(id: number, executionId = 1): WorkItem {
  return { type: "TimerFired", instance: INSTANCE, executionId, id, fireAtMs: 0 };
}
export function raised(name: string, data: unknown): WorkItem {
  return { type: "ExternalRaised", instance: INSTANCE, name, data: JSON.stringify(data) };
}
export function types(events: HistoryEvent[]): string[] {
  return events.map((e) => e.type);
}
