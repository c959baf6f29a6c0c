// Waiting for a condition on an instance: woken at once by provider notifications (every ack of
// the instance notifies), with polling as the floor (20 ms doubling to `maxPollMs`) for changes
// made by processes whose notifications do not reach this one. A store that is briefly unreachable
// (a PostgreSQL restart) does not end the wait: retryable provider errors are retried, with
// backoff, until the wait's own timeout.
import type { InstanceChanges, Provider } from "../providers/provider.js";

/** What a waiter cares about; it is woken only by acks that change it. */
export type WaitInterest = keyof InstanceChanges;
import { ProviderError, TimeoutError } from "../model/errors.js";

/** Retry interval of a check that failed transiently: 50 ms doubling to 1 s. */
function outageBackoffMs(failures: number): number {
  return Math.min(50 * 2 ** (failures - 1), 1_000);
}

/** One provider subscription per client, fanned out by instance id. */
export class InstanceWatcher {
  #byInstance = new Map<string, Set<(changes: InstanceChanges | undefined) => void>>();
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly provider: Provider) {}

  #watch(instance: string, cb: (changes: InstanceChanges | undefined) => void): () => void {
    if (!this.#unsubscribe) {
      this.#unsubscribe = this.provider.subscribe((n) => {
        if (n.kind !== "instanceChanged") return;
        const set = this.#byInstance.get(n.instance);
        if (set) for (const f of [...set]) f(n.changes);
      });
    }
    let set = this.#byInstance.get(instance);
    if (!set) this.#byInstance.set(instance, (set = new Set()));
    set.add(cb);
    return () => {
      set!.delete(cb);
      if (set!.size === 0) this.#byInstance.delete(instance);
      if (this.#byInstance.size === 0 && this.#unsubscribe) {
        this.#unsubscribe();
        this.#unsubscribe = null;
      }
    };
  }

  async waitFor<T>(
    instance: string,
    interest: WaitInterest,
    check: () => Promise<T | null>,
    timeoutMs: number,
    maxPollMs = 1_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | null = null;
    let woken = false;
    const unwatch = this.#watch(instance, (changes) => {
      if (changes && !changes[interest]) return;
      woken = true;
      wake?.();
    });
    try {
      // With cross-process notifications, polling is only a safety net against lost wake-ups.
      const crossProcess = this.provider.notifiesAcrossProcesses === true;
      let pollMs = crossProcess ? Math.max(maxPollMs, 5_000) : Math.min(20, maxPollMs);
      let failures = 0;
      for (;;) {
        woken = false;
        let r: T | null;
        try {
          r = await check();
          failures = 0;
        } catch (err) {
          if (!(err instanceof ProviderError && err.retryable)) throw err;
          if (Date.now() >= deadline) throw new TimeoutError(`Operation timed out (store unreachable: ${err.message})`);
          failures++;
          r = null;
        }
        if (r !== null) return r;
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError();
        if (!woken || failures > 0) {
          const waitMs = failures > 0 ? outageBackoffMs(failures) : pollMs;
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, Math.min(waitMs, left));
            function done(): void {
              clearTimeout(t);
              wake = null;
              resolve();
            }
            wake = done;
          });
          if (!crossProcess) pollMs = Math.min(pollMs * 2, maxPollMs);
        }
      }
    } finally {
      unwatch();
    }
  }
}
