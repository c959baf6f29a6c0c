// What a provider hands the conformance suite, the options the suite takes, and what every
// category file of the suite shares (the per-test provider lifecycle, lock timings, tag filters).
import { it } from "node:test";
import assert from "node:assert/strict";

import { ProviderError } from "../../model/errors.js";
import type { Provider } from "../provider.js";

export interface ProviderFactory {
  create(): Promise<Provider>;
  /** Called after each test (default: `provider.close()`). */
  destroy?(p: Provider): Promise<void>;
  /** Makes one stored history row of the instance's current execution unreadable. */
  corruptHistory?(p: Provider, instance: string): Promise<void>;
  /** Makes the most recently enqueued orchestrator-queue message unreadable. */
  corruptQueueRow?(p: Provider): Promise<void>;
}

export interface ConformanceOptions {
  /** Normal lock timeout (ms). */
  lockTimeoutMs?: number;
  /** Lock timeout for tests that wait for expiry (ms). */
  shortLockMs?: number;
  /** The provider sets `moreReady` on every fetch: check the hint exactly (default: only that it is never wrongly false). */
  drainHints?: boolean;
  /** The provider leases worker items to the acking process when asked (`leaseWorkerItems`): check it exactly. */
  ackLeases?: boolean;
  /** The provider locks a worker ack's completion instance for the caller when asked (`WorkAckOptions.lockInstance`): check it exactly. */
  workAckLocks?: boolean;
  /** The provider has both batch fetches (`fetchOrchestrationItems`, `fetchWorkItems`): they must exist (default: tested where present). */
  batchFetch?: boolean;
  /** The provider stores a completion's turn with its worker ack (`ackWorkItemWithTurn`): check that it does. */
  completionTurns?: boolean;
  /** The provider stores a new instance's first turn with its creation (`createInstanceWithTurn`): check that it does. */
  startTurns?: boolean;
}

/** What each category of the suite is registered with. */
export interface SuiteContext {
  /** The provider's label in test titles. */
  name: string;
  factory: ProviderFactory;
  /** Normal lock timeout (ms). */
  LOCK: number;
  /** Short lock timeout, for tests that wait for expiry (ms). */
  SHORT: number;
  /** Comfortably past SHORT (ms). */
  PAST: number;
  /** Registers a test that gets a fresh provider (destroyed afterwards). */
  test(title: string, fn: (p: Provider) => Promise<void>): void;
}

export function suiteContext(name: string, factory: ProviderFactory, options: ConformanceOptions = {}): SuiteContext {
  const SHORT = options.shortLockMs ?? 150;
  return {
    name,
    factory,
    LOCK: options.lockTimeoutMs ?? 5_000,
    SHORT,
    PAST: SHORT + 80,
    test(title, fn) {
      it(title, async () => {
        const p = await factory.create();
        try {
          await fn(p);
        } finally {
          if (factory.destroy) await factory.destroy(p);
          else await p.close();
        }
      });
    },
  };
}

export const NO_TAGS = { tagFilter: { kind: "defaultOnly" as const } };
export const ANY = { tagFilter: { kind: "any" as const } };

export function isPermanentProviderError(pattern?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.retryable, false, "expected a permanent (non-retryable) error");
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}
