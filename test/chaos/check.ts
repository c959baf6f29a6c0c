// Invariant checks on stored histories after a chaos run.
import { isTerminalEvent, type HistoryEvent } from "../../src/model/events.js";
import type { WorkItem } from "../../src/model/workItems.js";
import type { Provider } from "../../src/providers/provider.js";
import { OrchestrationExecution } from "../../src/orchestration/execution.js";
import { activityKey, type Journal } from "./faulty.js";
import { ORCHESTRATIONS } from "./workload.js";

const INPUT_TYPES = new Set([
  "OrchestrationStarted",
  "ActivityCompleted",
  "ActivityFailed",
  "TimerFired",
  "SubOrchestrationCompleted",
  "SubOrchestrationFailed",
  "ExternalEvent",
  "QueueEventDelivered",
  "OrchestrationCancelRequested",
]);

/** Event fields that legitimately differ between two runs of the same turn (clock, GUIDs). */
export function normalize(events: HistoryEvent[]): unknown[] {
  return events.map((e) => {
    const o: Record<string, unknown> = { ...e };
    delete o["timestampMs"];
    if (e.type === "TimerCreated") delete o["fireAtMs"];
    if (e.type === "KeyValueSet") delete o["lastUpdatedAtMs"];
    if (e.type === "SystemCall") delete o["value"];
    return o;
  });
}

/** The message a stored input event was made from. */
function messageOf(e: HistoryEvent): WorkItem {
  const base = { instance: e.instanceId, executionId: e.executionId };
  switch (e.type) {
    case "ActivityCompleted":
      return { type: "ActivityCompleted", ...base, id: e.sourceEventId!, result: e.result };
    case "ActivityFailed":
      return { type: "ActivityFailed", ...base, id: e.sourceEventId!, details: e.details };
    case "TimerFired":
      return { type: "TimerFired", ...base, id: e.sourceEventId!, fireAtMs: e.fireAtMs };
    case "SubOrchestrationCompleted":
      return { type: "SubOrchCompleted", parentInstance: e.instanceId, parentExecutionId: e.executionId, parentId: e.sourceEventId!, result: e.result };
    case "SubOrchestrationFailed":
      return { type: "SubOrchFailed", parentInstance: e.instanceId, parentExecutionId: e.executionId, parentId: e.sourceEventId!, details: e.details };
    case "ExternalEvent":
      return { type: "ExternalRaised", instance: e.instanceId, name: e.name, data: e.data };
    case "QueueEventDelivered":
      return { type: "QueueMessage", instance: e.instanceId, name: e.name, data: e.data };
    case "OrchestrationCancelRequested":
      return { type: "CancelInstance", instance: e.instanceId, reason: e.reason };
    default:
      throw new Error(`not an input event: ${e.type}`);
  }
}

/**
 * Replay the stored execution cold up to the input that ended it, deliver that input as a message,
 * and require the engine to produce exactly the stored tail (decisions, cancellations, terminal).
 */
export async function replayFinalTurn(history: HistoryEvent[]): Promise<string | null> {
  const started = history[0];
  if (!started || started.type !== "OrchestrationStarted") return "first event is not OrchestrationStarted";
  const handler = ORCHESTRATIONS[started.name];
  if (!handler) return `no handler for ${started.name}`;
  let k = history.length - 1;
  while (k > 0 && !INPUT_TYPES.has(history[k]!.type)) k--;
  const x = new OrchestrationExecution({
    instance: started.instanceId,
    executionId: started.executionId,
    orchestrationName: started.name,
    orchestrationVersion: started.version,
    handler,
  });
  if (k === 0) {
    await x.start({
      input: started.input,
      parent:
        started.parentInstance !== null && started.parentId !== null
          ? { parentInstance: started.parentInstance, parentId: started.parentId, parentExecutionId: started.parentExecutionId ?? 1 }
          : null,
      ...(started.carryForwardEvents ? { carryForwardEvents: started.carryForwardEvents } : {}),
      ...(started.initialCustomStatus !== undefined ? { initialCustomStatus: started.initialCustomStatus } : {}),
    });
    await x.applyMessages([]);
  } else {
    await x.replay(history.slice(0, k));
    await x.applyMessages([messageOf(history[k]!)]);
  }
  const r = x.finishTurn();
  const got = JSON.stringify(normalize(k === 0 ? [...r.delta] : r.delta));
  const want = JSON.stringify(normalize(history.slice(k)));
  if (got !== want) return `cold replay of the final turn differs:\n  stored: ${want}\n  replay: ${got}`;
  return null;
}

export interface CheckedInstance {
  executions: number;
  children: string[];
}

/** Structural checks of every execution of an instance; returns problems found (empty: fine). */
export async function checkInstance(provider: Provider, id: string, journal: Journal, problems: string[]): Promise<CheckedInstance> {
  const status = await provider.getStatus(id);
  if (!status) {
    // A child scheduled in the turn its parent ended (cancelled) is never started: fine. A child
    // whose start a stored turn did send must exist.
    if (journal.startsSent.has(id)) problems.push(`${id}: its start was committed, but the instance does not exist`);
    return { executions: 0, children: [] };
  }
  const children: string[] = [];
  for (let exec = 1; exec <= status.executionId; exec++) {
    const h = await provider.readExecution(id, exec);
    const where = `${id} execution ${exec}`;
    for (let i = 0; i < h.length; i++) {
      if (h[i]!.eventId !== i + 1) {
        problems.push(`${where}: event ids not gap-free: position ${i + 1} has id ${h[i]!.eventId}`);
        break;
      }
    }
    const terminals = h.filter((e) => isTerminalEvent(e));
    if (terminals.length !== 1) problems.push(`${where}: ${terminals.length} terminal events`);
    else if (!isTerminalEvent(h[h.length - 1]!)) problems.push(`${where}: terminal event is not last`);
    if (exec < status.executionId && h[h.length - 1]?.type !== "OrchestrationContinuedAsNew")
      problems.push(`${where}: an earlier execution did not end with continue-as-new`);
    // Every completion matches one scheduled activity, at most once, and was committed by a worker ack.
    const scheduled = new Map<number, string>();
    const done = new Set<number>();
    for (const e of h) {
      if (e.type === "ActivityScheduled") scheduled.set(e.eventId, e.name);
      if (e.type === "SubOrchestrationScheduled") children.push(e.instance);
      if (e.type === "ActivityCompleted" || e.type === "ActivityFailed") {
        const src = e.sourceEventId ?? -1;
        if (!scheduled.has(src)) problems.push(`${where}: ${e.type} ${e.eventId} for unscheduled ${src}`);
        if (done.has(src)) problems.push(`${where}: a second completion for activity ${src}`);
        done.add(src);
        const c = journal.committed.get(activityKey(id, exec, src));
        if (!c) problems.push(`${where}: ${e.type} for ${src} was never committed by a worker ack`);
        else if (e.type === "ActivityCompleted" && (c.completion.type !== "ActivityCompleted" || c.completion.result !== e.result))
          problems.push(`${where}: stored result of ${src} differs from the committed completion`);
      }
    }
    if (terminals.length === 1) {
      const p = await replayFinalTurn(h);
      if (p) problems.push(`${where}: ${p}`);
    }
  }
  return { executions: status.executionId, children };
}
