// replayHistory: run stored histories against code, writing nothing, and report the divergence.
import { OrchestrationExecution } from "../orchestration/execution.js";
import type { OrchestrationHandler } from "../orchestration/handler.js";
import type { HistoryEvent } from "../model/events.js";
import type { KvEntry } from "../model/kv.js";
import { readHistoryExport, type ExportedExecution, type HistoryExport } from "../model/historyExport.js";
import { InvalidHistoryError, NondeterminismError, OrchestrationNotRegisteredError } from "../model/errors.js";
import type { Runtime } from "../runtime/runtime.js";

/** Code to replay against: a runtime (its registered orchestrations, versions respected) or a name → handler map. */
export type ReplayHandlers = Runtime | Readonly<Record<string, OrchestrationHandler>>;

export interface ReplayOptions {
  /** Which executions of a continue-as-new chain to replay (default "all"). */
  executions?: "all" | "current";
  /**
   * The determinism guard the code ran under. Default: the runtime's own mode when `handlers` is a
   * Runtime, else "guard" (the runtime's default).
   */
  determinism?: "guard" | "strict" | "off";
}

function isRuntime(handlers: ReplayHandlers): handlers is Runtime {
  return typeof (handlers as Runtime).registeredOrchestration === "function";
}

function resolve(handlers: ReplayHandlers, name: string, version: string): OrchestrationHandler {
  if (isRuntime(handlers)) {
    const r = handlers.registeredOrchestration(name, version);
    if (!r) throw new OrchestrationNotRegisteredError(name, version);
    return r.handler;
  }
  const h = (handlers as Record<string, OrchestrationHandler>)[name];
  if (typeof h !== "function") throw new OrchestrationNotRegisteredError(name, null);
  return h;
}

/** KV state an execution starts with: the writes of the executions before it. */
function foldKv(kv: Map<string, KvEntry>, events: readonly HistoryEvent[]): void {
  for (const e of events) {
    if (e.type === "KeyValueSet") kv.set(e.key, { value: e.value, lastUpdatedAtMs: e.lastUpdatedAtMs });
    else if (e.type === "KeyValueCleared") kv.delete(e.key);
    else if (e.type === "KeyValuesCleared") kv.clear();
  }
}

async function replayExecution(
  instanceId: string,
  x: ExportedExecution,
  handlers: ReplayHandlers,
  kv: Map<string, KvEntry>,
  determinism: "guard" | "strict" | "off",
): Promise<void> {
  const started = x.events[0];
  if (!started || started.type !== "OrchestrationStarted")
    throw new InvalidHistoryError(`instance '${instanceId}' execution ${x.executionId}: the first event must be OrchestrationStarted`);
  const handler = resolve(handlers, started.name, started.version);
  const execution = new OrchestrationExecution({
    instance: instanceId,
    executionId: x.executionId,
    orchestrationName: started.name,
    orchestrationVersion: started.version,
    handler,
    kvSnapshot: Object.fromEntries(kv),
    determinism,
  });
  const divergence = await execution.verify(x.events);
  if (divergence) {
    const d = divergence.data;
    const location = d.category === "configuration" ? (d.location ?? null) : null;
    throw new NondeterminismError(
      `instance '${instanceId}' execution ${x.executionId} (${started.name}@${started.version}): ${divergence.displayMessage()}`,
      instanceId,
      x.executionId,
      location,
    );
  }
}

/**
 * Replay an exported history (a `client.exportHistory` document, its JSON text, or one
 * execution's event array) against code. Resolves when the code reproduces every replayed
 * execution; rejects with NondeterminismError (with `location`: the source line of the call that
 * diverged, when known) otherwise, or OrchestrationNotRegisteredError / InvalidHistoryError.
 * Writes nothing and runs no activity.
 */
export async function replayHistory(history: HistoryExport | HistoryEvent[] | string, handlers: ReplayHandlers, options: ReplayOptions = {}): Promise<void> {
  const doc = readHistoryExport(history);
  const kv = new Map<string, KvEntry>();
  const executions = [...doc.executions].sort((a, b) => a.executionId - b.executionId);
  const last = executions[executions.length - 1];
  const determinism = options.determinism ?? (isRuntime(handlers) ? handlers.determinism : "guard");
  for (const x of executions) {
    if (options.executions !== "current" || x === last) await replayExecution(doc.instance.instanceId, x, handlers, kv, determinism);
    foldKv(kv, x.events);
  }
}
