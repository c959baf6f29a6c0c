// The clock seam: one source of "now" for timer visibility (both stores) and for the runtime's
// timestamps and ctx.utcNow(). Default real time; the test kit passes a virtual clock.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Called after the clock jumps forward, so whoever sleeps until a time can look again.
   * Returns an unsubscribe function. Real time never jumps and needs no listener.
   */
  onAdvance?(listener: () => void): () => void;
}

// Captured at load: code that patches Date.now later (the determinism guard, fake timers) must
// not change what the engine and the stores see.
const realNow = Date.now.bind(Date);

export const REAL_CLOCK: Clock = { now: realNow };

/** Real wall-clock time, unaffected by later patches of Date.now. */
export function realTimeNow(): number {
  return realNow();
}
