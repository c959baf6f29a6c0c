// Live orchestration executions kept between turns, so a turn delivers only new messages instead
// of replaying the whole history. Bounded by size (LRU) and idle time.
//
// A turn checks its execution out (`take`) and puts it back after the ack is stored. `known` says,
// as plain data, how far each held execution's history reaches; the dispatcher hands it to the
// provider's fetch so only newer events are loaded, and checks the match itself after the fetch.
import type { OrchestrationExecution } from "../orchestration/execution.js";
import type { KnownHistory } from "../providers/provider.js";

interface Entry {
  execution: OrchestrationExecution;
  lastUsed: number;
}

export class InstanceCache {
  #entries = new Map<string, Entry>();
  #known = new Map<string, KnownHistory>();
  #sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly maxSize: number,
    readonly idleMs: number,
  ) {}

  get size(): number {
    return this.#entries.size;
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
    this.#entries.delete(instance);
    this.#entries.set(instance, { execution, lastUsed: Date.now() });
    this.#known.set(instance, { executionId: execution.executionId, lastEventId: execution.lastEventId });
    while (this.#entries.size > this.maxSize) {
      const oldest = this.#entries.keys().next().value as string;
      this.#remove(oldest);
    }
    this.#ensureSweeper();
  }

  delete(instance: string): void {
    this.#remove(instance);
  }

  #remove(instance: string): void {
    this.#entries.delete(instance);
    this.#known.delete(instance);
  }

  clear(): void {
    this.#entries.clear();
    this.#known.clear();
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
