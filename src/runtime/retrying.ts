// Retry helpers for provider calls and the unregistered-handler backoff.
import { ProviderError } from "../model/errors.js";
import { sleep } from "./signal.js";

/** Retry retryable provider errors with 10·2^n ms backoff. */
export async function withRetries<T>(op: () => Promise<T>, attempts: number): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await op();
    } catch (err) {
      const retryable = err instanceof ProviderError ? err.retryable : false;
      if (!retryable || n + 1 >= attempts) throw err;
      await sleep(10 * 2 ** n);
    }
  }
}

/** 1 s doubling per attempt, capped at 60 s: time for a rolling deploy to bring the handler. */
export function unregisteredBackoffMs(attempt: number): number {
  return Math.min(1_000 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 60_000);
}
