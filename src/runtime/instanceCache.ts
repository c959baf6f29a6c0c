// Live orchestration executions kept between turns, so a turn delivers only new messages instead
// of replaying the whole history. Bounded by size (LRU) and idle time.
import type { OrchestrationExecution } from "../orchestration/execution.js";

interface Entry {
  execution: OrchestrationExecution;
  lastUsed: number;
}

export class InstanceCache {
  #entries = new Map<string, Entry>();
  #sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly maxSize: number,
    readonly idleMs: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  peek(instance: string): OrchestrationExecution | undefined {
    return this.#entries.get(instance)?.execution;
  }

  take(instance: string): OrchestrationExecution | undefined {
    const e = this.#entries.get(instance);
    if (!e) return undefined;
    this.#entries.delete(instance);
    return e.execution;
  }

  put(instance: string, execution: OrchestrationExecution): void {
    if (this.maxSize === 0) return;
    this.#entries.delete(instance);
    this.#entries.set(instance, { execution, lastUsed: Date.now() });
    while (this.#entries.size > this.maxSize) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#ensureSweeper();
  }

  delete(instance: string): void {
    this.#entries.delete(instance);
  }

  clear(): void {
    this.#entries.clear();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  #ensureSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      const cutoff = Date.now() - this.idleMs;
      for (const [k, e] of this.#entries) {
        if (e.lastUsed >= cutoff) break; // insertion order = recency order
        this.#entries.delete(k);
      }
    }, Math.max(1_000, Math.floor(this.idleMs / 2)));
    this.#sweeper.unref();
  }
}
