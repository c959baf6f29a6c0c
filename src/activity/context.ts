// ActivityContext: what an activity handler sees — identity, tracing, cooperative cancellation.
import type { Client } from "../client/client.js";
import type { Logger } from "../observability/logger.js";
import { InvalidArgumentError } from "../model/errors.js";
import { decodeJson } from "../model/json.js";

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
  /** Delivery attempt of this activity, from 1 (a redelivery after a lost worker counts up). */
  attempt?: number;
  /** JSON of the last heartbeat an earlier attempt reported, or null. */
  lastHeartbeat?: string | null;
  heartbeatTimeoutMs?: number | null;
}

/** Where `ctx.heartbeat()` goes: the worker dispatcher records it and renews the lease. */
export type HeartbeatSink = (detailsJson: string | null) => void;

export class ActivityContext {
  readonly instanceId: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;
  readonly activityName: string;
  readonly activityId: number;
  readonly workerId: string;
  readonly sessionId: string | null;
  /** Delivery attempt of this activity (1 for the first delivery). */
  readonly attempt: number;
  /** The heartbeat timeout this activity runs under, or null. */
  readonly heartbeatTimeoutMs: number | null;
  readonly #tag: string | null;
  readonly #lastHeartbeat: string | null;
  readonly #heartbeat: HeartbeatSink;
  readonly #abort: { readonly signal: AbortSignal };
  readonly #client: () => Client;
  readonly #logger: Logger | (() => Logger);

  /**
   * @internal Built by the worker dispatcher. `abort` and `logger` may make their signal and
   * logger on first use (most activities need neither).
   */
  constructor(
    info: ActivityInfo,
    abort: { readonly signal: AbortSignal },
    client: () => Client,
    logger: Logger | (() => Logger),
    heartbeat: HeartbeatSink = () => undefined,
  ) {
    this.instanceId = info.instanceId;
    this.executionId = info.executionId;
    this.orchestrationName = info.orchestrationName;
    this.orchestrationVersion = info.orchestrationVersion;
    this.activityName = info.activityName;
    this.activityId = info.activityId;
    this.workerId = info.workerId;
    this.sessionId = info.sessionId;
    this.#tag = info.tag;
    this.attempt = info.attempt ?? 1;
    this.heartbeatTimeoutMs = info.heartbeatTimeoutMs ?? null;
    this.#lastHeartbeat = info.lastHeartbeat ?? null;
    this.#heartbeat = heartbeat;
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

  /**
   * Report progress: renews this activity's lease (an activity that heartbeats is never taken
   * away) and stores `details` (JSON) for a later attempt to resume from. Under a
   * `heartbeatTimeoutMs`, an attempt that stops heartbeating for that long is treated as lost.
   * Cheap to call often: writes to the store are coalesced.
   */
  heartbeat(details?: unknown): void {
    let json: string | null = null;
    if (details !== undefined) {
      try {
        json = JSON.stringify(details) ?? null;
      } catch (err) {
        throw new InvalidArgumentError(`heartbeat details are not JSON-serialisable: ${(err as Error).message}`);
      }
    }
    this.#heartbeat(json);
  }

  /**
   * The details of the last heartbeat an earlier attempt of this activity reported (a redelivery
   * after a lost worker, or the previous attempt of a retry policy), or undefined.
   */
  lastHeartbeatDetails<T = unknown>(): T | undefined {
    if (this.#lastHeartbeat === null) return undefined;
    return decodeJson(this.#lastHeartbeat) as T;
  }

  /** A client on the same store (start orchestrations, raise events, manage instances). */
  getClient(): Client {
    return this.#client();
  }

  #log(): Logger {
    const l = this.#logger;
    return typeof l === "function" ? l() : l;
  }

  traceInfo(message: string): void {
    this.#log().info(message);
  }
  traceWarn(message: string): void {
    this.#log().warn(message);
  }
  traceError(message: string): void {
    this.#log().error(message);
  }
  traceDebug(message: string): void {
    this.#log().debug(message);
  }
}
