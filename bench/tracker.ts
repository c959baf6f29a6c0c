// Completion tracker: one provider subscription for many instances (instead of one waiter per
// instance), so measuring does not itself become the bottleneck. A slow sweep (2 s) is the safety
// net; it is slow so that, when completions lag under load, its reads do not swamp the statement
// counts the bench reports.
import { performance } from "node:perf_hooks";
import type { Client, OrchestrationStatus, Provider } from "../src/index.js";

export interface Done {
  startedAt: number;
  completedAt: number;
  status: OrchestrationStatus;
}

export class CompletionTracker {
  readonly #client: Client;
  readonly #pending = new Map<string, { startedAt: number; resolve: (d: Done) => void }>();
  readonly #dirty = new Set<string>();
  #flushScheduled = false;
  readonly #unsubscribe: () => void;
  readonly #sweep: NodeJS.Timeout;

  constructor(provider: Provider, client: Client) {
    this.#client = client;
    this.#unsubscribe = provider.subscribe((n) => {
      // Only acks that change the status can complete an instance (absent `changes`: anything may have).
      if (n.kind === "instanceChanged" && (n.changes === undefined || n.changes.status) && this.#pending.has(n.instance)) {
        this.#dirty.add(n.instance);
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          setImmediate(() => void this.#flush());
        }
      }
    });
    this.#sweep = setInterval(() => {
      for (const id of this.#pending.keys()) this.#dirty.add(id);
      void this.#flush();
    }, 2_000);
    this.#sweep.unref();
  }

  /** Register before starting the instance; resolves when it is Completed or Failed. */
  track(instance: string, startedAt = performance.now()): Promise<Done> {
    return new Promise((resolve) => this.#pending.set(instance, { startedAt, resolve }));
  }

  /** Correct the start time after the start call (so the start's own cost is included or not, as wanted). */
  setStart(instance: string, startedAt: number): void {
    const p = this.#pending.get(instance);
    if (p) p.startedAt = startedAt;
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const ids = [...this.#dirty];
    this.#dirty.clear();
    for (const id of ids) {
      const p = this.#pending.get(id);
      if (!p) continue;
      const status = await this.#client.getStatus(id);
      if (status.status === "Completed" || status.status === "Failed") {
        this.#pending.delete(id);
        // getStatus returns the raw stored output (duroxide-node shape): decode it like waitForOrchestration.
        if (status.status === "Completed" && typeof status.output === "string") status.output = JSON.parse(status.output) as unknown;
        p.resolve({ startedAt: p.startedAt, completedAt: performance.now(), status });
      }
    }
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#sweep);
  }
}
