// What every store operation shares: refused once the provider is closed, anything thrown turned
// into the store's typed error, and the lock errors a store reports.
import { ProviderError } from "../model/errors.js";

export class StoreOperations {
  #closed = false;

  /** `toError` turns what a driver threw into a typed error (the store's errors.ts). */
  constructor(private readonly toError: (operation: string, err: unknown) => Error) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the provider closed; false when it already was. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** Runs a synchronous store's operation. */
  run<R>(operation: string, fn: () => R): R {
    if (this.#closed) throw providerClosed(operation);
    try {
      return fn();
    } catch (err) {
      throw this.toError(operation, err);
    }
  }

  /** Runs an asynchronous store's operation. */
  async runAsync<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    if (this.#closed) throw providerClosed(operation);
    try {
      return await fn();
    } catch (err) {
      throw this.toError(operation, err);
    }
  }
}

export function providerClosed(operation: string): ProviderError {
  return new ProviderError(operation, "provider is closed", false);
}

/** The errors of a lock token that no longer holds what it locked (never retryable). */
export const lockErrors = {
  instanceNotHeld: (operation: string) => new ProviderError(operation, "invalid lock token (instance lock not held)", false),
  instanceExpired: (operation: string) => new ProviderError(operation, "instance lock expired", false),
  instanceNotRenewed: (operation: string) => new ProviderError(operation, "instance lock not held or expired", false),
  workItemNotFound: (operation: string) => new ProviderError(operation, "work item lock not found (withdrawn, acked or lost)", false),
  workItemExpired: (operation: string) => new ProviderError(operation, "work item lock expired", false),
};
