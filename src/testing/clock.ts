// A virtual clock for tests: real time plus an offset that only grows. Jumps notify listeners so
// the runtime looks for due timers at once.
import { realTimeNow, type Clock } from "../model/clock.js";

export class VirtualClock implements Clock {
  #offset: number;
  #listeners = new Set<() => void>();

  /** Starts at `startMs` (default: the real time now) and runs at real speed from there. */
  constructor(startMs?: number) {
    this.#offset = startMs === undefined ? 0 : startMs - realTimeNow();
  }

  now(): number {
    return realTimeNow() + this.#offset;
  }

  onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Jump forward by `ms` (never backwards). */
  advanceBy(ms: number): void {
    if (!(ms > 0)) return;
    this.#offset += ms;
    for (const l of [...this.#listeners]) l();
  }

  /** Jump forward to `timeMs` if it lies ahead. */
  advanceTo(timeMs: number): void {
    this.advanceBy(timeMs - this.now());
  }
}
