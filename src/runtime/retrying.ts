// Retry helpers for provider calls (acks ride out store outages) and the unregistered-handler backoff.
import { ProviderError } from "../model/errors.js";
import { sleep } from "./signal.js";

/**
 * Retries retryable provider errors while the lease that makes the call meaningful still holds:
 * backoff 25 ms doubling to 1 s, for as long as `deadline()` (a Date.now() instant, re-read before
 * each try so a renewal extends it) is in the future. Used for acks, so a result computed while
 * the store is unreachable is committed when it comes back instead of being dropped after a few
 * quick tries. Non-retryable errors and the last error after the deadline are thrown.
 */
export async function retryWithinLease<T>(op: () => Promise<T>, deadline: () => number, onRetry?: (err: unknown, attempt: number) => void): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await op();
    } catch (err) {
      const retryable = err instanceof ProviderError ? err.retryable : false;
      const wait = Math.min(25 * 2 ** (n - 1), 1_000);
      const left = deadline() - Date.now();
      if (!retryable || left <= 0) throw err;
      onRetry?.(err, n);
      await sleep(Math.min(wait, left));
    }
  }
}

/** 1 s doubling per attempt, capped at 60 s: time for a rolling deploy to bring the handler. */
export function unregisteredBackoffMs(attempt: number): number {
  return Math.min(1_000 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 60_000);
}

/** The least time `attempts` fetches of an unregistered name take: the waits between them. */
export function unregisteredRetrySpanMs(attempts: number): number {
  let ms = 0;
  for (let a = 1; a < attempts; a++) ms += unregisteredBackoffMs(a);
  return ms;
}
