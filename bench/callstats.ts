// Optional diagnostics (--calls): count provider calls, empty fetches and time spent in each, by
// wrapping the provider instance's methods (no change to src/).
import { performance } from "node:perf_hooks";
import { statSync } from "node:fs";
import type { Provider } from "../src/index.js";

const METHODS = [
  "fetchOrchestrationItem",
  "fetchOrchestrationItems",
  "ackOrchestrationItem",
  "abandonOrchestrationItem",
  "renewOrchestrationItemLock",
  "fetchWorkItem",
  "fetchWorkItems",
  "ackWorkItem",
  "ackWorkItemWithTurn",
  "renewWorkItemLock",
  "isActivityPending",
  "createInstance",
  "createInstanceWithTurn",
  "enqueueForOrchestrator",
  "getStatus",
  "read",
  "renewSessionLocks",
] as const;

export interface CallStats {
  [method: string]: { calls: number; empty?: number; ms: number; walFramesPerCall?: number };
}

/** WAL frames (page writes) so far, for a file store whose auto-checkpoint is off (the WAL only grows). */
function walFrames(walPath: string): number {
  try {
    const size = statSync(walPath).size;
    return size <= 32 ? 0 : (size - 32) / (4096 + 24);
  } catch {
    return 0;
  }
}

export function instrument(provider: Provider, walPath: string | null = null): () => CallStats {
  const stats: CallStats = {};
  const target = provider as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of METHODS) {
    const orig = target[m];
    if (typeof orig !== "function") continue;
    const s = (stats[m] = { calls: 0, ms: 0 } as { calls: number; empty?: number; ms: number; frames?: number });
    if (walPath) s.frames = 0;
    const isFetch = m.startsWith("fetch");
    if (isFetch) s.empty = 0;
    target[m] = function (this: unknown, ...args: unknown[]) {
      const f0 = walPath ? walFrames(walPath) : 0;
      const t = performance.now();
      s.calls++;
      const p = orig.apply(this, args);
      // SQLite does the work synchronously inside the call; this is the cost of the call itself.
      s.ms += performance.now() - t;
      if (walPath) s.frames! += walFrames(walPath) - f0;
      // A batch fetch comes back empty as [].
      if (isFetch) void p.then((r) => { if (r === null || (Array.isArray(r) && r.length === 0)) s.empty!++; }, () => undefined);
      return p;
    };
  }
  return () => {
    const out: CallStats = {};
    for (const [k, v] of Object.entries(stats) as [string, { calls: number; empty?: number; ms: number; frames?: number }][]) {
      if (v.calls === 0) continue;
      const { frames, ...rest } = v;
      out[k] = { ...rest, ms: Math.round(v.ms * 10) / 10 };
      if (frames !== undefined) out[k]!.walFramesPerCall = Math.round((frames / v.calls) * 10) / 10;
    }
    return out;
  };
}
