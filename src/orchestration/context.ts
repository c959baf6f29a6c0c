// OrchestrationContext: the API orchestration code uses. Every call that affects the outcome is
// recorded in history (through the execution engine) and replays identically.
import { DurableFuture } from "./future.js";
import { checkIdentifier } from "../model/identifiers.js";
import type { ContextHost, TraceLevel } from "./host.js";
import type { BreadcrumbType, Decision, DecisionBody } from "./decisions.js";
import {
  allSettled,
  firstOf,
  firstSettled,
  joinAll,
  type JoinResult,
  type JoinResults,
  type JoinValues,
  type RaceOutcome,
  type RaceResult,
  type SelectResult,
  type Task,
} from "./combinators.js";
import type { AnyActivityRef, AnyOrchestrationRef, InputOf, OutputOf } from "../model/definitions.js";
import { decodeJson, encodeJson } from "../model/json.js";
import { InvalidArgumentError, TaskCancelledError } from "../model/errors.js";
import { resolveRetryPolicy, retryFuture, type RetryPolicy } from "./retry.js";
import { MAX_CUSTOM_STATUS_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES } from "./limits.js";
import { CONTEXT_ALIASES, installAliases } from "../compat/aliases.js";

/** Reserved system activity that reads another instance's KV value (registered by the runtime). */
export const GET_KV_VALUE_SYSCALL = "__duroxide_syscall:get_kv_value";

export interface ActivityOptions {
  /** Route every activity of this session to the worker that owns it. */
  sessionId?: string;
  /** Route to workers whose tag filter accepts this tag. */
  tag?: string;
  /**
   * The activity must call `ctx.heartbeat()` at least this often (ms). Its lease lasts only this
   * long and only heartbeats renew it, so a worker that dies or hangs loses the activity within
   * this time (not the worker lock timeout) and it is delivered again; under a retry policy the
   * lost attempt fails with code "HeartbeatTimeout" and the policy decides.
   */
  heartbeatTimeoutMs?: number;
}

/** What a retry policy adds to each attempt it schedules. */
interface AttemptExtras {
  failWhenLost?: boolean;
  heartbeatDetails?: string;
}

function positiveMs(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    throw new InvalidArgumentError(`${what} must be a positive integer of milliseconds, got ${String(v)}`);
  return v;
}

/** Names, ids and keys given to the context go through the one identifier check. */
const requireName = checkIdentifier;

/** Options of `ctx.call`: retries (each attempt a new activity), routing tag, session. */
export interface CallOptions extends ActivityOptions {
  retry?: RetryPolicy;
}

/** Options of `ctx.callSubOrchestration`. */
export interface SubOrchestrationCallOptions {
  /** The child's instance id (default: derived from the parent's id and the schedule's event id). */
  instanceId?: string;
  /** Run this version (default: the handle's version, else the latest registered). */
  version?: string;
}

function requireRef(kind: "activity" | "orchestration", ref: unknown): { name: string; version?: string | undefined; checkInput(i: unknown): unknown } {
  const r = ref as { kind?: unknown; name?: unknown; checkInput?: unknown } | null;
  if (!r || typeof r !== "object" || r.kind !== kind || typeof r.name !== "string" || typeof r.checkInput !== "function")
    throw new InvalidArgumentError(`expected an ${kind} handle made by define${kind === "activity" ? "Activity" : "Orchestration"}()`);
  return r as { name: string; version?: string; checkInput(i: unknown): unknown };
}

export class OrchestrationContext {
  readonly #x: ContextHost;
  readonly instanceId: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;

  constructor(execution: ContextHost) {
    this.#x = execution;
    this.instanceId = execution.instance;
    this.executionId = execution.executionId;
    this.orchestrationName = execution.orchestrationName;
    this.orchestrationVersion = execution.orchestrationVersion;
  }

  /** True while the code is re-running decisions already in history. */
  get isReplaying(): boolean {
    return this.#x.isReplaying;
  }

  // ------------------------------------------------------------------ scheduling

  #track<T>(future: DurableFuture<T>, body: DecisionBody, breadcrumb: BreadcrumbType | null): Decision {
    const d = this.#x.decide(body, future as DurableFuture<unknown>);
    future._hooks.cancel = () => {
      this.#x.cancelFuture(d, breadcrumb);
      future._settle({ ok: false, error: new TaskCancelledError(future.type) });
    };
    return d;
  }

  scheduleActivity<T = unknown>(name: string, input?: unknown, options?: ActivityOptions): DurableFuture<T> {
    return this.#scheduleActivity<T>(name, input, options, {});
  }

  #scheduleActivity<T>(name: string, input: unknown, options: ActivityOptions | undefined, extras: AttemptExtras): DurableFuture<T> {
    requireName("activity name", name);
    const body: Extract<DecisionBody, { type: "ActivityScheduled" }> = {
      type: "ActivityScheduled",
      name,
      input: encodeJson(input, `input of activity '${name}'`),
    };
    if (options?.sessionId !== undefined) body.sessionId = requireName("sessionId", options.sessionId);
    if (options?.tag !== undefined) body.tag = requireName("tag", options.tag);
    if (options?.heartbeatTimeoutMs !== undefined) body.heartbeatTimeoutMs = positiveMs("heartbeatTimeoutMs", options.heartbeatTimeoutMs);
    if (extras.failWhenLost === true && body.heartbeatTimeoutMs !== undefined) body.failWhenLost = true;
    if (extras.heartbeatDetails !== undefined) body.heartbeatDetails = extras.heartbeatDetails;
    const f = new DurableFuture<T>("activity");
    const d = this.#track(f, body, "ActivityCancelRequested");
    f._hooks.setTag = (tag: string) => {
      requireName("tag", tag);
      body.tag = tag;
      // A new decision was already turned into an event this turn: update it before it is stored.
      if (d.event && d.event.type === "ActivityScheduled" && !d.verifyTag) d.event.tag = tag;
      if (d.workItem && d.workItem.type === "ActivityExecute") d.workItem.tag = tag;
    };
    return f;
  }

  scheduleActivityOnSession<T = unknown>(name: string, input: unknown, sessionId: string): DurableFuture<T> {
    return this.scheduleActivity<T>(name, input, { sessionId });
  }

  // ------------------------------------------------------------------ typed calls (defineActivity / defineOrchestration)

  /**
   * Call a typed activity: the input is checked against the definition (and its schema) here, so
   * a bad one throws before anything is scheduled; the future resolves with the handler's output
   * type. `options.retry` retries as scheduleActivityWithRetry does.
   */
  call<R extends AnyActivityRef>(activity: R, input: InputOf<R>, options: CallOptions = {}): DurableFuture<OutputOf<R>> {
    const ref = requireRef("activity", activity);
    const value = ref.checkInput(input);
    const { retry, ...routing } = options;
    return retry !== undefined
      ? this.scheduleActivityWithRetry<OutputOf<R>>(ref.name, value, retry, routing)
      : this.scheduleActivity<OutputOf<R>>(ref.name, value, routing);
  }

  /** Run a typed orchestration as a child and wait for its output (input checked here, as in `call`). */
  callSubOrchestration<R extends AnyOrchestrationRef>(
    orchestration: R,
    input: InputOf<R>,
    options: SubOrchestrationCallOptions = {},
  ): DurableFuture<OutputOf<R>> {
    const ref = requireRef("orchestration", orchestration);
    const value = ref.checkInput(input);
    return this.#subOrchestration<OutputOf<R>>(ref.name, options.version ?? ref.version, options.instanceId, value);
  }

  // ------------------------------------------------------------------ retries

  /**
   * Run an activity with retries: each attempt is a new activity, each backoff wait a durable
   * timer (both visible in history). With `timeoutMs`, an attempt races a timer and a timed-out
   * attempt is not retried (unless `retryOnTimeout`): the task fails with "timeout: activity timed
   * out". A non-retryable failure (NonRetryableError, `nonRetryable: true`, or a name/code in
   * `nonRetryableErrors`) fails the task at once. After `maxAttempts` failures the task fails with
   * the last error. Each attempt starts from the previous attempt's last heartbeat details.
   */
  scheduleActivityWithRetry<T = unknown>(name: string, input: unknown, policy?: RetryPolicy, options?: ActivityOptions): DurableFuture<T> {
    requireName("activity name", name);
    const resolved = resolveRetryPolicy(policy);
    encodeJson(input, `input of activity '${name}'`); // fail fast on bad input, before any attempt
    const heartbeatTimeoutMs = options?.heartbeatTimeoutMs ?? resolved.heartbeatTimeoutMs ?? undefined;
    const attemptOptions: ActivityOptions | undefined =
      heartbeatTimeoutMs === undefined ? options : { ...options, heartbeatTimeoutMs };
    return retryFuture<T>(name, resolved, {
      scheduleAttempt: (resumeFrom) =>
        this.#scheduleActivity(name, input, attemptOptions, {
          failWhenLost: true,
          ...(resumeFrom !== null ? { heartbeatDetails: resumeFrom } : {}),
        }),
      scheduleTimer: (ms) => this.scheduleTimer(ms) as DurableFuture<unknown>,
      warn: (m) => this.traceWarn(m),
    });
  }
  /** Retries pinned to one session: every attempt goes to the worker that owns `sessionId`. */
  scheduleActivityWithRetryOnSession<T = unknown>(name: string, input: unknown, policy: RetryPolicy | undefined, sessionId: string): DurableFuture<T> {
    return this.scheduleActivityWithRetry<T>(name, input, policy, { sessionId: requireName("sessionId", sessionId) });
  }

  /** Durable timer; resolves with null. `delayMs` is a non-negative integer. */
  scheduleTimer(delayMs: number): DurableFuture<null> {
    if (typeof delayMs !== "number" || !Number.isInteger(delayMs) || delayMs < 0)
      throw new InvalidArgumentError(`timer delay must be a non-negative integer of milliseconds, got ${String(delayMs)}`);
    const f = new DurableFuture<null>("timer");
    this.#track(f, { type: "TimerCreated", delayMs }, null);
    return f;
  }

  /** Wait for the next event raised with `name` (buffered if raised before this wait). */
  waitForEvent<T = unknown>(name: string): DurableFuture<T> {
    requireName("event name", name);
    const f = new DurableFuture<T>("waitEvent");
    this.#track(f, { type: "ExternalSubscribed", name }, "ExternalSubscribedCancelled");
    this.#x.subscribe("wait", name, f as DurableFuture<unknown>);
    return f;
  }

  /** Take the next message of a FIFO event queue. */
  dequeueEvent<T = unknown>(queueName: string): DurableFuture<T> {
    requireName("queue name", queueName);
    const f = new DurableFuture<T>("dequeueEvent");
    this.#track(f, { type: "QueueSubscribed", name: queueName }, "QueueSubscriptionCancelled");
    this.#x.subscribe("queue", queueName, f as DurableFuture<unknown>);
    return f;
  }

  #subOrchestration<T>(name: string, version: string | undefined, instanceId: string | undefined, input: unknown): DurableFuture<T> {
    requireName("orchestration name", name);
    const body: Extract<DecisionBody, { type: "SubOrchestrationScheduled" }> = {
      type: "SubOrchestrationScheduled",
      name,
      input: encodeJson(input, `input of sub-orchestration '${name}'`),
    };
    if (version !== undefined) body.version = requireName("version", version);
    if (instanceId !== undefined) body.explicitInstance = requireName("instance id", instanceId);
    const f = new DurableFuture<T>("subOrchestration");
    this.#track(f, body, "SubOrchestrationCancelRequested");
    return f;
  }

  scheduleSubOrchestration<T = unknown>(name: string, input?: unknown): DurableFuture<T> {
    return this.#subOrchestration<T>(name, undefined, undefined, input);
  }
  scheduleSubOrchestrationWithId<T = unknown>(name: string, instanceId: string, input?: unknown): DurableFuture<T> {
    return this.#subOrchestration<T>(name, undefined, instanceId, input);
  }
  scheduleSubOrchestrationVersioned<T = unknown>(name: string, version: string, input?: unknown): DurableFuture<T> {
    return this.#subOrchestration<T>(name, version, undefined, input);
  }
  scheduleSubOrchestrationVersionedWithId<T = unknown>(
    name: string,
    version: string,
    instanceId: string,
    input?: unknown,
  ): DurableFuture<T> {
    return this.#subOrchestration<T>(name, version, instanceId, input);
  }

  /** Start an independent (detached) orchestration; resolves with null once recorded. */
  startOrchestration(name: string, instanceId: string, input?: unknown): DurableFuture<null> {
    return this.#detached(name, undefined, instanceId, input);
  }
  startOrchestrationVersioned(name: string, version: string, instanceId: string, input?: unknown): DurableFuture<null> {
    return this.#detached(name, version, instanceId, input);
  }
  #detached(name: string, version: string | undefined, instanceId: string, input: unknown): DurableFuture<null> {
    requireName("orchestration name", name);
    requireName("instance id", instanceId);
    const body: Extract<DecisionBody, { type: "OrchestrationChained" }> = {
      type: "OrchestrationChained",
      name,
      instance: instanceId,
      input: encodeJson(input, `input of orchestration '${name}'`),
    };
    if (version !== undefined) body.version = requireName("version", version);
    const f = new DurableFuture<null>("startOrchestration");
    this.#x.decide(body, f as DurableFuture<unknown>);
    return f;
  }

  // ------------------------------------------------------------------ in-code patching

  /**
   * Change running code safely: `if (ctx.patched("fix-42")) { new path } else { old path }`.
   * True when this instance reaches the call for the first time on code that has it (a
   * PatchMarker is recorded in history, so replays return true again); false when replaying a
   * history written by code without the patch, so old instances stay on the old path. Versions
   * by name stay as they are; this is for small fixes.
   */
  patched(patchId: string): boolean {
    return this.#x.patch(requireName("patch id", patchId), "patched");
  }

  /**
   * The cleanup step once no instance needs the old path: replace `if (ctx.patched(id)) {...}
   * else {...}` with `ctx.deprecatePatch(id); ...new path...`. Instances whose history has the
   * marker replay without a nondeterminism error; new instances record nothing, so the call can
   * be deleted once those have finished.
   */
  deprecatePatch(patchId: string): void {
    this.#x.patch(requireName("patch id", patchId), "deprecated");
  }

  /** A GUID recorded in history: the same value on every replay. */
  newGuid(): DurableFuture<string> {
    const f = new DurableFuture<string>("systemCall");
    this.#x.systemCall("newGuid", f as DurableFuture<unknown>);
    return f;
  }

  /** Wall-clock time (ms since epoch) recorded in history: the same value on every replay. */
  utcNow(): DurableFuture<number> {
    const f = new DurableFuture<number>("systemCall");
    this.#x.systemCall("utcNow", f as DurableFuture<unknown>);
    return f;
  }

  /** End this execution and start a fresh one with `input` (on the latest version). Never resolves. */
  continueAsNew(input?: unknown): DurableFuture<never> {
    this.#x.requestContinueAsNew(encodeJson(input, "continue-as-new input"), null);
    return new DurableFuture<never>("continueAsNew");
  }
  /** Like continueAsNew, on a named version. */
  continueAsNewVersioned(input: unknown, version: string): DurableFuture<never> {
    this.#x.requestContinueAsNew(encodeJson(input, "continue-as-new input"), requireName("version", version));
    return new DurableFuture<never>("continueAsNew");
  }

  // ------------------------------------------------------------------ composition

  #dirty = (): void => this.#x.markDirty();

  /**
   * duroxide-node `all`: waits for every task; each entry is `{ ok }` or `{ err }`. Over a tuple
   * (`ctx.all([a, b])`) each entry is typed by its task.
   */
  all<const T extends readonly Task<unknown>[]>(tasks: T): DurableFuture<JoinResults<T>>;
  all<T = unknown>(tasks: Task<T>[]): DurableFuture<JoinResult<T>[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- implementation signature (not published)
  all(tasks: readonly Task<unknown>[]): DurableFuture<any> {
    if (!Array.isArray(tasks)) throw new InvalidArgumentError("all() takes an array of tasks");
    return allSettled(tasks as Task<unknown>[], this.#dirty);
  }
  /** Waits for every task; resolves with the values in order (typed per task over a tuple), or throws the first failure. */
  join<const T extends readonly Task<unknown>[]>(tasks: T): DurableFuture<JoinValues<T>>;
  join<T = unknown>(tasks: Task<T>[]): DurableFuture<T[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- implementation signature (not published)
  join(tasks: readonly Task<unknown>[]): DurableFuture<any> {
    if (!Array.isArray(tasks)) throw new InvalidArgumentError("join() takes an array of tasks");
    return joinAll(tasks as Task<unknown>[], this.#dirty);
  }
  join2<A, B>(a: Task<A>, b: Task<B>): DurableFuture<[A, B]> {
    return joinAll<unknown>([a, b], this.#dirty) as unknown as DurableFuture<[A, B]>;
  }
  join3<A, B, C>(a: Task<A>, b: Task<B>, c: Task<C>): DurableFuture<[A, B, C]> {
    return joinAll<unknown>([a, b, c], this.#dirty) as unknown as DurableFuture<[A, B, C]>;
  }
  /**
   * duroxide-node `race`: the first task to complete (in history order) wins and the others are
   * cancelled. Resolves `{ index, value }`; a failed winner's error message becomes the value.
   */
  race<T = unknown>(...tasks: Task<T>[]): DurableFuture<RaceResult<T>> {
    return firstOf(tasks, this.#dirty, true);
  }
  /**
   * Typed race: the first task to complete (in history order) wins and the others are cancelled.
   * Resolves `{ index, ok: true, value }` or `{ index, ok: false, error }`; narrowing on `index`
   * types `value` by the task that won, and a failed winner never arrives as a value.
   */
  raceSettled<const T extends readonly Task<unknown>[]>(...tasks: T): DurableFuture<RaceOutcome<T>> {
    if (tasks.length === 0) throw new InvalidArgumentError("raceSettled() needs at least one task");
    return firstSettled([...tasks], this.#dirty) as unknown as DurableFuture<RaceOutcome<T>>;
  }
  /** Like race, but a failed winner throws; `value` is typed by the winner's `index`. Accepts any number of tasks. */
  select<const T extends Task<unknown>[]>(...tasks: T): DurableFuture<SelectResult<T>>;
  select<T = unknown>(...tasks: Task<T>[]): DurableFuture<RaceResult<T>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- implementation signature (not published)
  select(...tasks: Task<unknown>[]): any {
    return firstOf([...tasks], this.#dirty, false);
  }
  select2<A, B>(a: Task<A>, b: Task<B>): DurableFuture<RaceResult<A | B>> {
    return firstOf<A | B>([a, b], this.#dirty, false);
  }
  select3<A, B, C>(a: Task<A>, b: Task<B>, c: Task<C>): DurableFuture<RaceResult<A | B | C>> {
    return firstOf<A | B | C>([a, b, c], this.#dirty, false);
  }


  // ------------------------------------------------------------------ custom status

  /** Throws (failing the orchestration unless caught) when larger than MAX_CUSTOM_STATUS_BYTES. */
  setCustomStatus(status: string): void {
    if (typeof status !== "string") throw new InvalidArgumentError("custom status must be a string");
    const n = Buffer.byteLength(status, "utf8");
    if (n > MAX_CUSTOM_STATUS_BYTES)
      throw new InvalidArgumentError(`Custom status size (${n} bytes) exceeds limit (${MAX_CUSTOM_STATUS_BYTES} bytes)`);
    this.#x.setCustomStatus(status);
  }
  resetCustomStatus(): void {
    this.#x.setCustomStatus(null);
  }
  getCustomStatus(): string | null {
    return this.#x.getCustomStatus();
  }

  // ------------------------------------------------------------------ KV state

  /**
   * Limits are checked here, at the call, so the offending write never reaches history: a value
   * over MAX_KV_VALUE_BYTES, or a new key beyond MAX_KV_KEYS (counting every key the instance
   * holds: earlier executions, earlier turns and this one), throws and fails the orchestration
   * unless the code catches it.
   */
  setValue(key: string, value: string): void {
    requireName("KV key", key);
    if (typeof value !== "string") throw new InvalidArgumentError(`KV value for '${key}' must be a string`);
    const n = Buffer.byteLength(value, "utf8");
    if (n > MAX_KV_VALUE_BYTES)
      throw new InvalidArgumentError(`KV value for key '${key}' (${n} bytes) exceeds limit (${MAX_KV_VALUE_BYTES} bytes)`);
    const kv = this.#x.kv();
    if (!kv.has(key) && kv.size >= MAX_KV_KEYS)
      throw new InvalidArgumentError(`KV key count (${kv.size + 1}) exceeds limit (${MAX_KV_KEYS}) when setting key '${key}'`);
    this.#x.kvSet(key, value);
  }
  /** JSON-encodes `value`. */
  setValueTyped<T>(key: string, value: T): void {
    this.setValue(key, encodeJson(value, `KV value for '${key}'`));
  }
  /** JSON-decodes the stored value; null when absent. */
  getValueTyped<T = unknown>(key: string): T | null {
    const raw = this.getValue(key);
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as T;
    } catch (err) {
      throw new InvalidArgumentError(`KV deserialization error for key '${key}': ${(err as Error).message}`);
    }
  }

  /**
   * Read a KV value of another instance (null when absent), recorded in history.
   *
   * Design: a reserved system activity (`__duroxide_syscall:get_kv_value`) that every runtime's
   * worker serves from its provider, rather than a new decision/event pair. The read is thus an
   * ordinary ActivityScheduled/ActivityCompleted pair: replay, races, cancellation and the
   * instance cache need nothing new, and old histories stay readable. Cost: one activity round
   * trip, and it needs a worker that accepts untagged activities (as in the reference).
   */
  getValueFromInstance(instanceId: string, key: string): DurableFuture<string | null> {
    requireName("instance id", instanceId);
    requireName("KV key", key);
    return this.scheduleActivity<string | null>(GET_KV_VALUE_SYSCALL, { instanceId, key });
  }
  /** Like getValueFromInstance, JSON-decoding the value. */
  getValueFromInstanceTyped<T = unknown>(instanceId: string, key: string): DurableFuture<T | null> {
    const f = this.getValueFromInstance(instanceId, key);
    const out = new DurableFuture<T | null>("join");
    out._hooks.cancel = () => f.cancel();
    f._listen((s) => {
      if (!s.ok) return out._settle(s);
      try {
        out._settle({ ok: true, value: s.value === null ? null : (decodeJson(s.value) as T) });
      } catch (err) {
        out._settle({ ok: false, error: new InvalidArgumentError(`KV deserialization error for key '${key}': ${(err as Error).message}`) });
      }
    });
    return out;
  }
  getValue(key: string): string | null {
    return this.#x.kv().get(key)?.value ?? null;
  }
  clearValue(key: string): void {
    requireName("KV key", key);
    this.#x.kvClear(key);
  }
  clearAllValues(): void {
    this.#x.kvClearAll();
  }
  getKvAllValues(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.#x.kv()) out[k] = v.value;
    return out;
  }
  getKvAllKeys(): string[] {
    return [...this.#x.kv().keys()];
  }
  getKvLength(): number {
    return this.#x.kv().size;
  }
  /** Clears every key last written before `cutoffMs`; returns how many were cleared. */
  pruneKvValuesUpdatedBefore(cutoffMs: number): number {
    const old = [...this.#x.kv()].filter(([, v]) => v.lastUpdatedAtMs < cutoffMs).map(([k]) => k);
    for (const k of old) this.#x.kvClear(k);
    return old.length;
  }

  // ------------------------------------------------------------------ tracing (silent on replay)

  trace(level: TraceLevel, message: string): void {
    this.#x.trace(level, message);
  }
  traceInfo(message: string): void {
    this.#x.trace("info", message);
  }
  traceWarn(message: string): void {
    this.#x.trace("warn", message);
  }
  traceError(message: string): void {
    this.#x.trace("error", message);
  }
  traceDebug(message: string): void {
    this.#x.trace("debug", message);
  }
}

// duroxide-node and Rust-seed names (…Typed, …KvValue…) forward to the methods above; see src/compat.
installAliases(OrchestrationContext.prototype, CONTEXT_ALIASES);
