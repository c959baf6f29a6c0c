// Helpers to drive the replay engine with synthetic histories.
import { OrchestrationExecution, type TraceSink, type TurnResult, type StartInfo } from "../../src/orchestration/execution.js";
import type { OrchestrationHandler } from "../../src/orchestration/handler.js";
import type { EventKind, HistoryEvent } from "../../src/model/events.js";
import { newEvent } from "../../src/model/eventFactory.js";
import type { WorkItem } from "../../src/model/workItems.js";
import { ErrorDetails, type ErrorDetailsData } from "../../src/model/errors.js";
import type { KvEntry } from "../../src/providers/provider.js";

export const INSTANCE = "inst-1";

export function clockFrom(start = 1_000_000): () => number {
  let t = start;
  return () => t++;
}

export interface ExecOpts {
  executionId?: number;
  version?: string;
  name?: string;
  clock?: () => number;
  newGuid?: () => string;
  trace?: TraceSink;
  kvSnapshot?: Record<string, KvEntry>;
}

export function newExecution(handler: OrchestrationHandler, opts: ExecOpts = {}): OrchestrationExecution {
  let guid = 0;
  return new OrchestrationExecution({
    instance: INSTANCE,
    executionId: opts.executionId ?? 1,
    orchestrationName: opts.name ?? "Orch",
    orchestrationVersion: opts.version ?? "1.0.0",
    handler,
    clock: opts.clock ?? clockFrom(),
    newGuid: opts.newGuid ?? (() => `guid-${++guid}`),
    ...(opts.trace ? { trace: opts.trace } : {}),
    ...(opts.kvSnapshot ? { kvSnapshot: opts.kvSnapshot } : {}),
  });
}

/** First turn of a new execution plus any messages. */
export async function firstTurn(
  handler: OrchestrationHandler,
  input: unknown,
  messages: WorkItem[] = [],
  opts: ExecOpts & Partial<Omit<StartInfo, "input">> = {},
): Promise<{ x: OrchestrationExecution; r: TurnResult }> {
  const x = newExecution(handler, opts);
  await x.start({
    input: JSON.stringify(input),
    parent: opts.parent ?? null,
    ...(opts.carryForwardEvents ? { carryForwardEvents: opts.carryForwardEvents } : {}),
    ...(opts.initialCustomStatus !== undefined ? { initialCustomStatus: opts.initialCustomStatus } : {}),
  });
  await x.applyMessages(messages);
  const r = x.finishTurn();
  x.commit();
  return { x, r };
}

/** A cold turn: replay `history`, then deliver `messages`. */
export async function coldTurn(
  handler: OrchestrationHandler,
  history: HistoryEvent[],
  messages: WorkItem[] = [],
  opts: ExecOpts = {},
): Promise<{ x: OrchestrationExecution; r: TurnResult }> {
  const x = newExecution(handler, opts);
  await x.replay(history);
  await x.applyMessages(messages);
  const r = x.finishTurn();
  x.commit();
  return { x, r };
}

/** Another turn on a cached (live) execution. */
export async function nextTurn(x: OrchestrationExecution, messages: WorkItem[] = []): Promise<TurnResult> {
  await x.applyMessages(messages);
  const r = x.finishTurn();
  x.commit();
  return r;
}

/** runLive/runCold default to a constant clock so timer fire times and utcNow agree between the two paths. */
export const FIXED_CLOCK = (): number => 1_000_000;

/** Run turns on one cached execution (turns[0] goes with the start). Returns each result and the full history. */
export async function runLive(
  handler: OrchestrationHandler,
  input: unknown,
  turns: WorkItem[][],
  opts: ExecOpts = {},
): Promise<{ results: TurnResult[]; history: HistoryEvent[]; x: OrchestrationExecution }> {
  opts = { clock: FIXED_CLOCK, ...opts };
  const first = await firstTurn(handler, input, turns[0] ?? [], opts);
  const results = [first.r];
  const history = [...first.r.delta];
  for (const msgs of turns.slice(1)) {
    if (first.x.isFinished) break;
    const r = await nextTurn(first.x, msgs);
    results.push(r);
    history.push(...r.delta);
  }
  return { results, history, x: first.x };
}

/** Same turns, but every turn after the first replays the accumulated history on a fresh object. */
export async function runCold(
  handler: OrchestrationHandler,
  input: unknown,
  turns: WorkItem[][],
  opts: ExecOpts = {},
): Promise<{ results: TurnResult[]; history: HistoryEvent[] }> {
  opts = { clock: FIXED_CLOCK, ...opts };
  const first = await firstTurn(handler, input, turns[0] ?? [], opts);
  const results = [first.r];
  const history = [...first.r.delta];
  for (const msgs of turns.slice(1)) {
    if (results[results.length - 1]!.status !== "Running") break;
    const { r } = await coldTurn(handler, history, msgs, opts);
    results.push(r);
    history.push(...r.delta);
  }
  return { results, history };
}

// ------------------------------------------------------------------ messages

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
export function activityFailedWith(id: number, details: ErrorDetailsData, executionId = 1): WorkItem {
  return { type: "ActivityFailed", instance: INSTANCE, executionId, id, details };
}
export function timerFired(id: number, executionId = 1, fireAtMs = 0): WorkItem {
  return { type: "TimerFired", instance: INSTANCE, executionId, id, fireAtMs };
}
export function raised(name: string, data: unknown): WorkItem {
  return { type: "ExternalRaised", instance: INSTANCE, name, data: JSON.stringify(data) };
}
export function queued(name: string, data: unknown): WorkItem {
  return { type: "QueueMessage", instance: INSTANCE, name, data: JSON.stringify(data) };
}
export function subDone(parentId: number, result: unknown, parentExecutionId = 1): WorkItem {
  return { type: "SubOrchCompleted", parentInstance: INSTANCE, parentExecutionId, parentId, result: JSON.stringify(result) };
}
export function subFailed(parentId: number, message: string, parentExecutionId = 1): WorkItem {
  return {
    type: "SubOrchFailed",
    parentInstance: INSTANCE,
    parentExecutionId,
    parentId,
    details: { category: "application", kind: "OrchestrationFailed", message, retryable: false },
  };
}
export function cancelInstance(reason: string): WorkItem {
  return { type: "CancelInstance", instance: INSTANCE, reason };
}

// ------------------------------------------------------------------ inspection

export function types(events: HistoryEvent[]): string[] {
  return events.map((e) => e.type);
}

/** Events with volatile fields (timestamps) blanked, for live-vs-cold comparisons. */
export function normalize(events: HistoryEvent[]): HistoryEvent[] {
  return events.map((e) => ({ ...e, timestampMs: 0 }));
}

export function failureText(r: TurnResult): string {
  return r.failure ? new ErrorDetails(r.failure).displayMessage() : "";
}

export function lastEvent(r: TurnResult): HistoryEvent {
  return r.delta[r.delta.length - 1]!;
}

// ------------------------------------------------------------------ synthetic history builder

/** Builds a synthetic history with consecutive event ids. Every add returns the new event id. */
export class History {
  readonly events: HistoryEvent[] = [];
  constructor(readonly executionId = 1, readonly instance = INSTANCE) {}

  add(kind: EventKind, sourceEventId: number | null = null, timestampMs = 500): number {
    const eventId = this.events.length + 1;
    this.events.push(newEvent({ instanceId: this.instance, executionId: this.executionId, eventId, sourceEventId, timestampMs }, kind));
    return eventId;
  }
  started(input: unknown, extra: Partial<Extract<EventKind, { type: "OrchestrationStarted" }>> = {}): number {
    return this.add({
      type: "OrchestrationStarted",
      name: "Orch",
      version: "1.0.0",
      input: JSON.stringify(input),
      parentInstance: null,
      parentId: null,
      parentExecutionId: null,
      ...extra,
    });
  }
  activity(name: string, input: unknown, extra: { sessionId?: string; tag?: string } = {}): number {
    return this.add({ type: "ActivityScheduled", name, input: JSON.stringify(input ?? null), ...extra });
  }
  activityDone(id: number, result: unknown): number {
    return this.add({ type: "ActivityCompleted", result: JSON.stringify(result) }, id);
  }
  activityFailed(id: number, message: string): number {
    return this.add({ type: "ActivityFailed", details: { category: "application", kind: "ActivityFailed", message, retryable: false } }, id);
  }
  activityCancelled(id: number, reason = "dropped_future"): number {
    return this.add({ type: "ActivityCancelRequested", reason }, id);
  }
  timer(fireAtMs = 1000): number {
    return this.add({ type: "TimerCreated", fireAtMs });
  }
  timerFired(id: number, fireAtMs = 1000): number {
    return this.add({ type: "TimerFired", fireAtMs }, id);
  }
  wait(name: string): number {
    return this.add({ type: "ExternalSubscribed", name });
  }
  waitCancelled(id: number, reason = "dropped_future"): number {
    return this.add({ type: "ExternalSubscribedCancelled", reason }, id);
  }
  raised(name: string, data: unknown): number {
    return this.add({ type: "ExternalEvent", name, data: JSON.stringify(data) });
  }
  sub(name: string, instance: string, input: unknown): number {
    return this.add({ type: "SubOrchestrationScheduled", name, instance, input: JSON.stringify(input ?? null) });
  }
  subDone(id: number, result: unknown): number {
    return this.add({ type: "SubOrchestrationCompleted", result: JSON.stringify(result) }, id);
  }
  subFailed(id: number, message: string): number {
    return this.add(
      { type: "SubOrchestrationFailed", details: { category: "application", kind: "OrchestrationFailed", message, retryable: false } },
      id,
    );
  }
  subCancelled(id: number, reason = "dropped_future"): number {
    return this.add({ type: "SubOrchestrationCancelRequested", reason }, id);
  }
  systemCall(op: "newGuid" | "utcNow", value: string): number {
    return this.add({ type: "SystemCall", op, value });
  }
}
