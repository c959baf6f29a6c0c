// ActivityContext: what an activity handler sees — identity, tracing, cooperative cancellation.
import type { Client } from "../client/client.js";
import type { Logger } from "../observability/logger.js";

export interface ActivityInfo {
  instanceId: string;
  executionId: number;
  orchestrationName: string;
  orchestrationVersion: string;
  activityName: string;
  activityId: number;
  workerId: string;
  sessionId: string | null;
  tag: string | null;
}

export class ActivityContext {
  readonly instanceId: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;
  readonly activityName: string;
  readonly activityId: number;
  readonly workerId: string;
  readonly sessionId: string | null;
  readonly #tag: string | null;
  readonly #abort: AbortController;
  readonly #client: () => Client;
  readonly #logger: Logger;

  /** @internal Built by the worker dispatcher. */
  constructor(info: ActivityInfo, abort: AbortController, client: () => Client, logger: Logger) {
    this.instanceId = info.instanceId;
    this.executionId = info.executionId;
    this.orchestrationName = info.orchestrationName;
    this.orchestrationVersion = info.orchestrationVersion;
    this.activityName = info.activityName;
    this.activityId = info.activityId;
    this.workerId = info.workerId;
    this.sessionId = info.sessionId;
    this.#tag = info.tag;
    this.#abort = abort;
    this.#client = client;
    this.#logger = logger;
  }

  /** The routing tag this activity was scheduled with, or null. */
  tag(): string | null {
    return this.#tag;
  }

  /** Aborted when the activity is cancelled (its orchestration ended or it lost a race). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  isCancelled(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Resolves when the activity is cancelled. */
  cancelled(): Promise<void> {
    const s = this.#abort.signal;
    if (s.aborted) return Promise.resolve();
    return new Promise((resolve) => s.addEventListener("abort", () => resolve(), { once: true }));
  }

  /** A client on the same store (start orchestrations, raise events, manage instances). */
  getClient(): Client {
    return this.#client();
  }

  traceInfo(message: string): void {
    this.#logger.info(message);
  }
  traceWarn(message: string): void {
    this.#logger.warn(message);
  }
  traceError(message: string): void {
    this.#logger.error(message);
  }
  traceDebug(message: string): void {
    this.#logger.debug(message);
  }
}
