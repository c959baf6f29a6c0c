// The engine's entry point: one turn in, one turn out (Temporal's workflow `activate()`).
//
// In: the instance's current execution as stored (history, or the live execution the runtime
// checked out of its cache), the messages locked with it, and how to resolve and build an
// execution. Out: what the turn produced (history delta, work, how the execution stands), or why
// nothing could run. Pure like the rest of orchestration/: no I/O, no provider, no cache.
import { isTerminalEvent, type HistoryEvent } from "../model/events.js";
import { ErrorDetails } from "../model/errors.js";
import type { TraceCarrier } from "../model/trace.js";
import type { WorkItem, WorkItemOf } from "../model/workItems.js";
import type { OrchestrationHandler } from "./handler.js";
import type { OrchestrationExecution } from "./execution.js";
import type { TurnResult } from "./turnOutput.js";

export type StartMessage = WorkItemOf<"StartOrchestration"> | WorkItemOf<"ContinueAsNew">;

/**
 * What the stored history and the messages say this turn does — decided here only:
 * - `begin`: a start (no execution yet) or a continue-as-new (the last one ended so) begins execution `executionId`;
 * - `resume`: the current execution is running: replay it and deliver the messages;
 * - `finished`: the current execution ended: nothing runs;
 * - `idle`: no execution has started and no start came: nothing can take the messages.
 */
export type TurnStart =
  | { kind: "begin"; start: StartMessage; executionId: number }
  | { kind: "resume" }
  | { kind: "finished" }
  | { kind: "idle" };

export function turnStart(history: readonly HistoryEvent[], executionId: number, messages: readonly WorkItem[]): TurnStart {
  const last = history[history.length - 1];
  const continued = messages.find((m): m is WorkItemOf<"ContinueAsNew"> => m.type === "ContinueAsNew");
  if (last && isTerminalEvent(last) && !(last.type === "OrchestrationContinuedAsNew" && continued)) return { kind: "finished" };
  if (!last) {
    const start = messages.find((m): m is WorkItemOf<"StartOrchestration"> => m.type === "StartOrchestration");
    return start ? { kind: "begin", start, executionId } : { kind: "idle" };
  }
  // Past the check above, an execution that continued as new has its ContinueAsNew message here.
  if (last.type === "OrchestrationContinuedAsNew") return { kind: "begin", start: continued!, executionId: executionId + 1 };
  return { kind: "resume" };
}

/** A start with a parent for an id that already runs or ran: the parent learns that its child failed. */
export function rejectDuplicateStarts(messages: readonly WorkItem[], instance: string): WorkItem[] {
  const out: WorkItem[] = [];
  for (const m of messages) {
    if (m.type === "StartOrchestration" && m.parent) {
      out.push({
        type: "SubOrchFailed",
        ...m.parent,
        details: ErrorDetails.orchestrationFailed(`sub-orchestration instance '${instance}' already exists`).data,
      });
    }
  }
  return out;
}

/** How the turn's execution came to be, for telemetry (opened before the code runs). */
export type TurnBegin =
  | { newExecution: { parent: TraceCarrier | undefined; input: string; initiatedBy: "client" | "continueAsNew" | "parent" } }
  | { execution: TraceCarrier | undefined };

export interface TurnInput {
  instance: string;
  /** The current execution id as stored. */
  executionId: number;
  /** The current execution's stored history (unused when `cached` is given). */
  history: HistoryEvent[];
  /** Messages locked with this turn, in arrival order. */
  messages: WorkItem[];
  /** The live execution the runtime checked out of its cache, when it is current. */
  cached?: OrchestrationExecution | undefined;
  /** The handler registered for a name and version (null version: the latest). */
  resolve(name: string, version: string | null): { version: string; handler: OrchestrationHandler } | null;
  /** Build an execution (the runtime supplies clock, tracing, determinism guard, KV snapshot). */
  create(x: { instance: string; executionId: number; name: string; version: string; handler: OrchestrationHandler }): OrchestrationExecution;
  /** Called once the turn's execution is known, before its code runs; returns the trace context a new execution records. */
  onBegin?(execution: OrchestrationExecution, begin: TurnBegin): TraceCarrier | undefined;
}

export type TurnOutcome =
  | {
      kind: "ran";
      execution: OrchestrationExecution;
      result: TurnResult;
      /** Set when this turn began the execution. */
      began: { name: string; version: string; initiatedBy: "client" | "continueAsNew" } | null;
    }
  /** Nothing ran; these messages go out (parents told their child id is taken). */
  | { kind: "nothing"; orchestratorItems: WorkItem[] }
  | { kind: "unregistered"; name: string; version: string | null }
  | { kind: "corrupt"; message: string };

/** Run one turn. */
export async function activate(input: TurnInput): Promise<TurnOutcome> {
  const { instance, history, messages } = input;
  let execution: OrchestrationExecution;
  /** Messages for the engine: the start that began this turn is not one. */
  let deliver: WorkItem[] = messages;
  let began: { name: string; version: string; initiatedBy: "client" | "continueAsNew" } | null = null;

  if (input.cached) {
    execution = input.cached;
    input.onBegin?.(execution, { execution: execution.traceContext });
  } else {
    const s = turnStart(history, input.executionId, messages);
    switch (s.kind) {
      case "finished":
        return { kind: "nothing", orchestratorItems: rejectDuplicateStarts(messages, instance) };
      case "idle":
        return { kind: "nothing", orchestratorItems: [] };
      case "begin": {
        const { start } = s;
        const resolved = input.resolve(start.orchestration, start.version);
        if (!resolved) return { kind: "unregistered", name: start.orchestration, version: start.version };
        execution = input.create({ instance, executionId: s.executionId, name: start.orchestration, version: resolved.version, handler: resolved.handler });
        const initiatedBy = start.type === "ContinueAsNew" ? "continueAsNew" : start.parent ? "parent" : "client";
        const traceContext = input.onBegin?.(execution, { newExecution: { parent: start.trace, input: start.input, initiatedBy } });
        await execution.start({
          input: start.input,
          parent: start.parent,
          ...(traceContext ? { traceContext } : {}),
          ...(start.type === "ContinueAsNew" ? { carryForwardEvents: start.carryForwardEvents, initialCustomStatus: start.initialCustomStatus } : {}),
        });
        began = { name: start.orchestration, version: resolved.version, initiatedBy: start.type === "ContinueAsNew" ? "continueAsNew" : "client" };
        deliver = messages.filter((m) => m !== start && m.type !== "ContinueAsNew");
        break;
      }
      case "resume": {
        const started = history[0];
        if (!started || started.type !== "OrchestrationStarted") return { kind: "corrupt", message: "first event must be OrchestrationStarted" };
        const resolved = input.resolve(started.name, started.version);
        if (!resolved) return { kind: "unregistered", name: started.name, version: started.version };
        execution = input.create({ instance, executionId: input.executionId, name: started.name, version: resolved.version, handler: resolved.handler });
        input.onBegin?.(execution, { execution: started.trace });
        await execution.replay(history);
        break;
      }
    }
  }

  await execution.applyMessages(deliver);
  const result = execution.finishTurn();
  // Parents that started a child under an id already in use learn that it failed.
  result.orchestratorItems.push(...rejectDuplicateStarts(deliver, instance));
  return { kind: "ran", execution, result, began };
}
