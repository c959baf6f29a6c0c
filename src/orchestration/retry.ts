// Activity retry with backoff, built only from the context's durable primitives (activities,
// timers, select), so every attempt and every backoff wait is a history event and the whole
// composite replays deterministically. The driver is listener-based and synchronous, like the
// combinators: it works unchanged under async/await and generator orchestrations.
import { DurableFuture, type Settlement } from "./future.js";
import { ActivityFailedError, ErrorDetails, InvalidArgumentError } from "../model/errors.js";

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
  /** Per-attempt timeout: the attempt races a durable timer; a timed-out attempt is not retried. */
  timeoutMs?: number;
  /** Deadline for all attempts and backoff waits together (a durable timer started with the first attempt). */
  totalTimeoutMs?: number;
}

export interface ResolvedRetryPolicy {
  maxAttempts: number;
  backoff: BackoffStrategy;
  timeoutMs: number | null;
  totalTimeoutMs: number | null;
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
  return { maxAttempts, backoff: resolveBackoff(p?.backoff), timeoutMs, totalTimeoutMs };
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
  scheduleAttempt(): DurableFuture<unknown>;
  scheduleTimer(delayMs: number): DurableFuture<unknown>;
  warn(message: string): void;
}

export function timeoutError(): ActivityFailedError {
  return new ActivityFailedError(ErrorDetails.activityFailed(RETRY_TIMEOUT_MESSAGE));
}

/**
 * The composite future. Attempt n: schedule the activity (racing a per-attempt timer when
 * `timeoutMs` is set; the loser is cancelled durably). Success settles; a timeout settles with
 * "timeout: activity timed out" at once (no retry); a failure waits `delayForAttempt(n)` on a
 * durable timer and tries again, until `maxAttempts`, then settles with the last error.
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

  const attempt = (n: number): void => {
    const activity = p.scheduleAttempt();
    const fs: DurableFuture<unknown>[] = [activity];
    const timer = policy.timeoutMs !== null ? p.scheduleTimer(policy.timeoutMs) : null;
    if (timer) fs.push(timer);
    if (deadline) fs.push(deadline);
    race(fs, (i, s) => {
      if (fs[i] !== activity) {
        finish({ ok: false, error: timeoutError() });
        return;
      }
      if (timer && !timer.isSettled) timer.cancel();
      if (s.ok || n >= policy.maxAttempts) {
        finish(s);
        return;
      }
      const msg = s.error instanceof Error ? s.error.message : String(s.error);
      p.warn(`Activity '${name}' attempt ${n}/${policy.maxAttempts} failed: ${msg}. Retrying...`);
      const delay = delayForAttempt(policy.backoff, n);
      if (delay === 0) {
        attempt(n + 1);
        return;
      }
      const wait = p.scheduleTimer(delay);
      race(deadline ? [wait, deadline] : [wait], (j) => {
        if (j === 0) attempt(n + 1);
        else finish({ ok: false, error: timeoutError() });
      });
    });
  };

  if (policy.totalTimeoutMs !== null) deadline = p.scheduleTimer(policy.totalTimeoutMs);
  attempt(1);
  return out;
}
