// Live orchestration executions kept between turns, so a turn delivers only new messages instead
// of replaying the whole history. Bounded by count and by the history payload bytes the held
// executions were handed (LRU), and by idle time. Only an optimisation: an instance that is not
// held replays from its stored history on its next turn.
//
// A turn checks its execution out (`take`) and puts it back after the ack is stored. `known` says,
// as plain data, how far each held execution's history reaches; the dispatcher hands it to the
// provider's fetch so only newer events are loaded, and checks the match itself after the fetch.
import type { OrchestrationExecution } from "../orchestration/execution.js";
import type { KnownHistory } from "../providers/provider.js";

interface Entry {
  execution: OrchestrationExecution;
  lastUsed: number;
  /** The execution's history payload bytes when it was put. */
  bytes: number;
}

export class InstanceCache {
  #entries = new Map<string, Entry>();
  #known = new Map<string, KnownHistory>();
  #bytes = 0;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly maxSize: number,
    readonly idleMs: number,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** History payload bytes of the held executions. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Instance → the execution and last event id held for it (kept in step with the entries). */
  get known(): ReadonlyMap<string, KnownHistory> {
    return this.#known;
  }

  take(instance: string): OrchestrationExecution | undefined {
    const e = this.#entries.get(instance);
    if (!e) return undefined;
    this.#remove(instance);
    return e.execution;
  }

  put(instance: string, execution: OrchestrationExecution): void {
    if (this.maxSize === 0) return;
    this.#remove(instance);
    const bytes = execution.historyBytes;
    this.#entries.set(instance, { execution, lastUsed: Date.now(), bytes });
    this.#bytes += bytes;
    this.#known.set(instance, { executionId: execution.executionId, lastEventId: execution.lastEventId });
    // Least recently used first; the one just put stays even when it alone is over the bytes bound
    // (replaying a large history every turn is the cost the cache exists to avoid).
    while (this.#entries.size > this.maxSize || (this.#bytes > this.maxBytes && this.#entries.size > 1)) {
      const oldest = this.#entries.keys().next().value as string;
      this.#remove(oldest);
    }
    this.#ensureSweeper();
  }

  delete(instance: string): void {
    this.#remove(instance);
  }

  #remove(instance: string): void {
    const e = this.#entries.get(instance);
    if (!e) return;
    this.#bytes -= e.bytes;
    this.#entries.delete(instance);
    this.#known.delete(instance);
  }

  clear(): void {
    this.#entries.clear();
    this.#known.clear();
    this.#bytes = 0;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  #ensureSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      const cutoff = Date.now() - this.idleMs;
      for (const [k, e] of this.#entries) {
        if (e.lastUsed >= cutoff) break; // insertion order = recency order
        this.#remove(k);
      }
    }, Math.max(1_000, Math.floor(this.idleMs / 2)));
    this.#sweeper.unref();
  }
}
