// What a provider hands the conformance suite, and the options the suite takes.
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
}
