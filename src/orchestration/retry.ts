// Activity retry with backoff, built only from the context's durable primitives (activities,
// timers, select), so every attempt and every backoff wait is a history event and the whole
// composite replays deterministically. The driver is listener-based and synchronous, like the
// combinators: it works unchanged under async/await and generator orchestrations.
import { DurableFuture, type Settlement } from "./future.js";
import { ActivityFailedError, ErrorDetails, InvalidArgumentError, TaskFailedError } from "../model/errors.js";

/** Backoff between attempts. Delays are in milliseconds; `attempt` counts from 1. */
export type BackoffStrategy =
  | { kind: "none" }
  /** The same delay before every retry. */
  | { kind: "fixed"; delayMs: number }
  /** delay = baseMs × attempt, capped at maxMs. */
  | { kind: "linear"; baseMs: number; maxMs: number }
  /** delay = baseMs × multiplier^(attempt−1), capped at maxMs. */
  | { kind: "exponential"; baseMs: number; multiplier: number; maxMs: number };

/**
 * A retry policy. Two shapes are accepted:
 * - the duroxide-node shape `{ maxAttempts, timeoutMs?, totalTimeoutMs?, backoff?: 'none' | 'fixed' |
 *   'linear' | 'exponential' | <fixed delay in ms> }`;
 * - the typed shape `{ maxAttempts?, backoff?: BackoffStrategy, timeoutMs?, totalTimeoutMs? }`.
 * Defaults (the seeds'): 3 attempts, exponential backoff (100 ms × 2^(n−1), at most 30 s), no timeout.
 */
export interface RetryPolicy {
  /** Attempts including the first; at least 1 (default 3). */
  maxAttempts?: number;
  backoff?: BackoffStrategy | "none" | "fixed" | "linear" | "exponential" | number;
  /**
   * Per-attempt timeout: the attempt races a durable timer and a timed-out attempt is cancelled
   * (its late result is never delivered). Not retried by default (the seeds' rule); see `retryOnTimeout`.
   */
  timeoutMs?: number;
  /** Deadline for all attempts and backoff waits together (a durable timer started with the first attempt). */
  totalTimeoutMs?: number;
  /**
   * Treat a per-attempt timeout like any failure: back off and try again (as Temporal does).
   * Default false: a timed-out attempt fails the task at once (as duroxide does).
   */
  retryOnTimeout?: boolean;
  /** Error names or codes that are never retried (in addition to errors marked non-retryable). */
  nonRetryableErrors?: string[];
  /**
   * Heartbeat timeout for every attempt (see ActivityOptions.heartbeatTimeoutMs): an attempt whose
   * heartbeats stop for this long fails with code "HeartbeatTimeout" and is retried per this policy.
   */
  heartbeatTimeoutMs?: number;
}

export interface ResolvedRetryPolicy {
  maxAttempts: number;
  backoff: BackoffStrategy;
  timeoutMs: number | null;
  totalTimeoutMs: number | null;
  retryOnTimeout: boolean;
  nonRetryableErrors: readonly string[];
  heartbeatTimeoutMs: number | null;
}

export const DEFAULT_BACKOFF: BackoffStrategy = { kind: "exponential", baseMs: 100, multiplier: 2, maxMs: 30_000 };
export const RETRY_TIMEOUT_MESSAGE = "timeout: activity timed out";

function nonNegative(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new InvalidArgumentError(`retry policy ${what} must be a non-negative number of milliseconds, got ${String(v)}`);
  return v;
}

function resolveBackoff(b: RetryPolicy["backoff"]): BackoffStrategy {
  if (b === undefined || b === null) return DEFAULT_BACKOFF;
  if (typeof b === "number") return { kind: "fixed", delayMs: nonNegative("backoff", b) };
  if (typeof b === "string") {
    // The duroxide-node strings, with the same parameters as its Rust mapping.
    switch (b) {
      case "none":
        return { kind: "none" };
      case "fixed":
        return { kind: "fixed", delayMs: 1_000 };
      case "linear":
        return { kind: "linear", baseMs: 100, maxMs: 30_000 };
      case "exponential":
        return DEFAULT_BACKOFF;
      default:
        throw new InvalidArgumentError(`unknown retry backoff '${b}' (expected none, fixed, linear, exponential or a number of ms)`);
    }
  }
  if (typeof b !== "object") throw new InvalidArgumentError(`invalid retry backoff ${String(b)}`);
  switch (b.kind) {
    case "none":
      return { kind: "none" };
    case "fixed":
      return { kind: "fixed", delayMs: nonNegative("backoff.delayMs", b.delayMs) };
    case "linear":
      return { kind: "linear", baseMs: nonNegative("backoff.baseMs", b.baseMs ?? 100), maxMs: nonNegative("backoff.maxMs", b.maxMs ?? 30_000) };
    case "exponential": {
      const multiplier = b.multiplier ?? 2;
      if (typeof multiplier !== "number" || !Number.isFinite(multiplier) || multiplier < 1)
        throw new InvalidArgumentError(`retry backoff multiplier must be a number ≥ 1, got ${String(multiplier)}`);
      return {
        kind: "exponential",
        baseMs: nonNegative("backoff.baseMs", b.baseMs ?? 100),
        multiplier,
        maxMs: nonNegative("backoff.maxMs", b.maxMs ?? 30_000),
      };
    }
    default:
      throw new InvalidArgumentError(`unknown retry backoff kind '${String((b as { kind: unknown }).kind)}'`);
  }
}

export function resolveRetryPolicy(p: RetryPolicy | undefined): ResolvedRetryPolicy {
  if (p !== undefined && (typeof p !== "object" || p === null)) throw new InvalidArgumentError("retry policy must be an object");
  const maxAttempts = p?.maxAttempts ?? 3;
  if (typeof maxAttempts !== "number" || !Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new InvalidArgumentError(`retry policy maxAttempts must be an integer ≥ 1, got ${String(maxAttempts)}`);
  const timeoutMs = p?.timeoutMs === undefined || p.timeoutMs === null ? null : nonNegative("timeoutMs", p.timeoutMs);
  const totalTimeoutMs =
    p?.totalTimeoutMs === undefined || p.totalTimeoutMs === null ? null : nonNegative("totalTimeoutMs", p.totalTimeoutMs);
  const retryOnTimeout = p?.retryOnTimeout ?? false;
  if (typeof retryOnTimeout !== "boolean") throw new InvalidArgumentError("retry policy retryOnTimeout must be a boolean");
  const list = p?.nonRetryableErrors ?? [];
  if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || x.length === 0))
    throw new InvalidArgumentError("retry policy nonRetryableErrors must be an array of non-empty strings (error names or codes)");
  const hb = p?.heartbeatTimeoutMs;
  if (hb !== undefined && hb !== null && (typeof hb !== "number" || !Number.isInteger(hb) || hb <= 0))
    throw new InvalidArgumentError(`retry policy heartbeatTimeoutMs must be a positive integer of milliseconds, got ${String(hb)}`);
  return {
    maxAttempts,
    backoff: resolveBackoff(p?.backoff),
    timeoutMs,
    totalTimeoutMs,
    retryOnTimeout,
    nonRetryableErrors: [...list],
    heartbeatTimeoutMs: hb ?? null,
  };
}

/** The delay after failed attempt `attempt` (1-based), in whole milliseconds. */
export function delayForAttempt(backoff: BackoffStrategy, attempt: number): number {
  let d: number;
  switch (backoff.kind) {
    case "none":
      d = 0;
      break;
    case "fixed":
      d = backoff.delayMs;
      break;
    case "linear":
      d = Math.min(backoff.baseMs * attempt, backoff.maxMs);
      break;
    case "exponential":
      d = Math.min(backoff.baseMs * backoff.multiplier ** (attempt - 1), backoff.maxMs);
      break;
  }
  return Math.max(0, Math.floor(d));
}

/** The primitives the retry driver needs from the context. */
export interface RetryPrimitives {
  /** `resumeFrom`: JSON of the previous attempt's last heartbeat, or null. */
  scheduleAttempt(resumeFrom: string | null): DurableFuture<unknown>;
  scheduleTimer(delayMs: number): DurableFuture<unknown>;
  warn(message: string): void;
}

export const RETRY_TIMEOUT_CODE = "ActivityTimeout";

export function timeoutError(activityName?: string, attempt?: number): ActivityFailedError {
  return new ActivityFailedError(
    ErrorDetails.activityFailed(RETRY_TIMEOUT_MESSAGE, false, {
      code: RETRY_TIMEOUT_CODE,
      ...(activityName !== undefined ? { activityName } : {}),
      ...(attempt !== undefined ? { attempt } : {}),
    }),
  );
}

/** Does this failure end the retry loop at once? */
export function isNonRetryable(error: unknown, policy: ResolvedRetryPolicy): boolean {
  if (!(error instanceof TaskFailedError)) return false;
  if (error.nonRetryable) return true;
  const list = policy.nonRetryableErrors;
  return list.length > 0 && (list.includes(error.name) || list.includes(error.code));
}

/**
 * The composite future. Attempt n: schedule the activity (racing a per-attempt timer when
 * `timeoutMs` is set; the loser is cancelled durably). Success settles; a timeout settles with
 * "timeout: activity timed out" at once (unless `retryOnTimeout`: then it counts as a failed
 * attempt); a non-retryable failure settles at once; another failure waits `delayForAttempt(n)`
 * on a durable timer and tries again, until `maxAttempts`, then settles with the last error.
 * `totalTimeoutMs` adds one deadline timer raced against every attempt and every backoff wait.
 */
export function retryFuture<T>(name: string, policy: ResolvedRetryPolicy, p: RetryPrimitives): DurableFuture<T> {
  const out = new DurableFuture<T>("retry");
  let current: DurableFuture<unknown>[] = [];
  let done = false;
  let deadline: DurableFuture<unknown> | null = null;

  const finish = (s: Settlement<unknown>): void => {
    if (done) return;
    done = true;
    const open = current;
    current = [];
    for (const f of open) f.cancel();
    if (deadline && !deadline.isSettled) deadline.cancel();
    out._settle(s as Settlement<T>);
  };
  out._hooks.cancel = () => {
    if (done) return;
    done = true;
    for (const f of current) f.cancel();
    if (deadline && !deadline.isSettled) deadline.cancel();
    current = [];
  };

  /** Race `fs` (first settled wins, argument order breaks ties); losers are cancelled. */
  const race = (fs: DurableFuture<unknown>[], onWin: (i: number, s: Settlement<unknown>) => void): void => {
    current = fs;
    let decided = false;
    const win = (i: number, s: Settlement<unknown>): void => {
      if (decided || done) return;
      decided = true;
      current = [];
      fs.forEach((f, j) => {
        if (j !== i && f !== deadline) f.cancel();
      });
      onWin(i, s);
    };
    const ready = fs.findIndex((f) => f.isSettled);
    if (ready >= 0) {
      win(ready, fs[ready]!._peek()!);
      return;
    }
    fs.forEach((f, i) => f._listen((s) => win(i, s)));
  };

  const attempt = (n: number, resumeFrom: string | null): void => {
    const activity = p.scheduleAttempt(resumeFrom);
    const fs: DurableFuture<unknown>[] = [activity];
    const timer = policy.timeoutMs !== null ? p.scheduleTimer(policy.timeoutMs) : null;
    if (timer) fs.push(timer);
    if (deadline) fs.push(deadline);
    race(fs, (i, won) => {
      let s = won;
      if (fs[i] !== activity) {
        // The deadline, or a per-attempt timeout the policy does not retry, ends it here.
        if (fs[i] === deadline || !policy.retryOnTimeout || n >= policy.maxAttempts) {
          finish({ ok: false, error: timeoutError(name, n) });
          return;
        }
        s = { ok: false, error: timeoutError(name, n) };
      }
      if (timer && !timer.isSettled) timer.cancel();
      if (s.ok || n >= policy.maxAttempts || isNonRetryable(s.error, policy)) {
        finish(s);
        return;
      }
      const next = s.error instanceof TaskFailedError ? (s.error.failure.identity().lastHeartbeat ?? resumeFrom) : resumeFrom;
      const msg = s.error instanceof Error ? s.error.message : String(s.error);
      p.warn(`Activity '${name}' attempt ${n}/${policy.maxAttempts} failed: ${msg}. Retrying...`);
      const delay = delayForAttempt(policy.backoff, n);
      if (delay === 0) {
        attempt(n + 1, next);
        return;
      }
      const wait = p.scheduleTimer(delay);
      race(deadline ? [wait, deadline] : [wait], (j) => {
        if (j === 0) attempt(n + 1, next);
        else finish({ ok: false, error: timeoutError(name, n) });
      });
    });
  };

  if (policy.totalTimeoutMs !== null) deadline = p.scheduleTimer(policy.totalTimeoutMs);
  attempt(1, null);
  return out;
}
