// Heartbeats of one running activity: `ctx.heartbeat()` calls are coalesced into lease renewals
// that also store the latest details. Under a heartbeat timeout ("guarded"), heartbeats are the only
// renewals, and an attempt that goes quiet for the whole timeout is declared lost here, before its
// lease can lapse and another worker takes the item.
import { ProviderError } from "../model/errors.js";

export interface HeartbeatsConfig {
  /** How long each renewal extends the lease (the heartbeat timeout, or the worker lock timeout). */
  lockMs: number;
  /** True under a heartbeat timeout: silence for `lockMs` means the attempt is lost. */
  guarded: boolean;
  renew(details: string | null): Promise<void>;
  /** The lease is gone (lapsed, moved on or withdrawn), or heartbeats stopped for too long. */
  onLost(): void;
  onTransientError(err: unknown): void;
  /** Details an earlier attempt left (carried on if this attempt never heartbeats). */
  initial: string | null;
}

export class Heartbeats {
  readonly #c: HeartbeatsConfig;
  /** At most one store write per interval: a third of the lease, so a write always lands in time. */
  readonly #interval: number;
  #latest: string | null;
  #pending = false;
  #pendingDetails: string | null = null;
  #lastFlushAt = -Infinity;
  #inFlight = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(c: HeartbeatsConfig) {
    this.#c = c;
    this.#latest = c.initial;
    this.#interval = Math.max(10, Math.floor(c.lockMs / 3));
    this.#arm();
  }

  /** The details of the latest heartbeat (or the ones this attempt started from). */
  get latest(): string | null {
    return this.#latest;
  }

  beat(details: string | null): void {
    if (this.#stopped) return;
    if (details !== null) this.#latest = details;
    this.#pending = true;
    if (details !== null) this.#pendingDetails = details;
    this.#arm();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#watchdog);
  }

  #arm(): void {
    if (!this.#c.guarded) return;
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (!this.#stopped) this.#c.onLost();
    }, this.#c.lockMs);
    this.#watchdog.unref();
  }

  #schedule(): void {
    if (this.#inFlight || this.#flushTimer !== undefined || !this.#pending) return;
    const wait = Math.max(0, this.#lastFlushAt + this.#interval - performance.now());
    if (wait === 0) {
      this.#flush();
      return;
    }
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, wait);
    this.#flushTimer.unref();
  }

  #flush(): void {
    if (this.#stopped || !this.#pending) return;
    const details = this.#pendingDetails;
    this.#pending = false;
    this.#pendingDetails = null;
    this.#inFlight = true;
    this.#lastFlushAt = performance.now();
    this.#c.renew(details).then(
      () => {
        this.#inFlight = false;
        this.#schedule();
      },
      (err: unknown) => {
        this.#inFlight = false;
        if (err instanceof ProviderError && !err.retryable) {
          this.#c.onLost();
          return;
        }
        this.#c.onTransientError(err);
        // Try again with whatever is newest; the failed write's details are not lost.
        this.#pending = true;
        this.#pendingDetails ??= details;
        this.#lastFlushAt = -Infinity;
        if (!this.#stopped) {
          this.#flushTimer = setTimeout(() => {
            this.#flushTimer = undefined;
            this.#flush();
          }, Math.max(10, Math.floor(this.#interval / 5)));
          this.#flushTimer.unref();
        }
      },
    );
  }
}
