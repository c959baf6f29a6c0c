// Error details recorded in history and surfaced to users, with the reference's four categories.

export type ErrorCategory = "infrastructure" | "configuration" | "application" | "poison";

export type AppErrorKind = "ActivityFailed" | "OrchestrationFailed" | "Panicked" | "Cancelled";

export type PoisonMessageType =
  | { kind: "Orchestration"; instance: string; executionId: number }
  | { kind: "Activity"; instance: string; executionId: number; activityName: string; activityId: number }
  | { kind: "FailedDeserialization"; instance: string; executionId: number; error: string }
  | { kind: "DeadLettered"; instance: string; executionId: number; deadLetters: DeadLetteredMessage[] };

/**
 * A queued message the store could not read and moved to its dead letters (where it stays, to be
 * retried or discarded through the management API).
 */
export interface DeadLetteredMessage {
  /** The dead letter's id (what `retryDeadLetter` / `discardDeadLetter` take). */
  deadLetterId: number;
  /** The queue message's id before it was moved. */
  messageId: number;
  /** The message's kind as recorded when it was queued (a work item type), or null when unknown. */
  kind: string | null;
  /** Why it could not be read. */
  error: string;
}

/** One line naming a dead-lettered message: its ids, kind and why it could not be read. */
function notRegisteredMessage(n: NotRegistered, t: PoisonMessageType, attempts: number, max: number): string {
  const what =
    t.kind === "Activity"
      ? `activity '${n.name}' (#${t.activityId} of ${t.instance})`
      : `orchestration '${n.name}'${n.version ? ` version ${n.version}` : ""} (instance ${t.instance})`;
  const span = `${n.atLeast ? "at least " : ""}${formatDuration(n.triedForMs)}`;
  return `poison: ${what} is not registered on any runtime that fetched it; tried ${attempts} time${attempts === 1 ? "" : "s"} over ${span} (maxAttempts ${max})`;
}

/** 850 ms, 12.5 s, 4 min 3 s. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.round(ms / 1_000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function describeDeadLetter(m: DeadLetteredMessage): string {
  return `${m.kind ?? "message"} ${m.messageId} could not be read (${m.error}); it is kept as dead letter ${m.deadLetterId}`;
}

/** A JSON value (what a thrown error's `details` may hold). */
export type ErrorJson = null | boolean | number | string | ErrorJson[] | { [key: string]: ErrorJson };

/**
 * The identity of an application error, as the code that threw it gave it. Every field is
 * optional: histories written before these fields existed still read (as a plain message).
 */
export interface ErrorIdentity {
  /** The thrown error's `name` (e.g. "CardDeclinedError"). */
  errorName?: string;
  /** The thrown error's string `code` (e.g. "card_declined", "ECONNRESET"). */
  code?: string;
  /** The thrown error's `details`, when JSON. */
  details?: ErrorJson;
  /** Marked non-retryable (NonRetryableError, or `nonRetryable: true` on the error). */
  nonRetryable?: boolean;
  /** The activity whose attempt failed (activity failures only). */
  activityName?: string;
  /** The delivery attempt of that activity (1 for the first). */
  attempt?: number;
  /** JSON text of the last heartbeat the failed attempt reported, for the next attempt to resume from. */
  lastHeartbeat?: string;
}

/** Plain, JSON-serialisable form stored in history events and work items. */
export type ErrorDetailsData =
  | { category: "infrastructure"; operation: string; message: string; retryable: boolean }
  | {
      category: "configuration";
      kind: "Nondeterminism";
      resource: string;
      message: string | null;
      /** `file:line:column` of the orchestration code call that diverged, when known. */
      location?: string;
    }
  | ({
      category: "application";
      kind: AppErrorKind;
      message: string;
      retryable: boolean;
      /** Set for kind `Cancelled`. */
      reason?: string;
    } & ErrorIdentity)
  | {
      category: "poison";
      attemptCount: number;
      maxAttempts: number;
      messageType: PoisonMessageType;
      /** JSON of the offending message(s). */
      message: string;
      /** Set when no runtime that fetched the message had its orchestration or activity registered. */
      notRegistered?: NotRegistered;
    };

/** Why a message was given up: its handler's name was registered on no runtime that fetched it. */
export interface NotRegistered {
  name: string;
  /** The orchestration version asked for (null: latest); absent for activities. */
  version?: string | null;
  /** From the first request (the client's start, the activity's scheduling) to giving up. */
  triedForMs: number;
  /** True when the request time was not recorded and `triedForMs` is the retry schedule's sum (a lower bound). */
  atLeast?: boolean;
}

/** Structured error information with the reference's accessors. */
export class ErrorDetails {
  constructor(readonly data: ErrorDetailsData) {}

  static infrastructure(operation: string, message: string, retryable = false): ErrorDetails {
    return new ErrorDetails({ category: "infrastructure", operation, message, retryable });
  }
  static nondeterminism(message: string, resource = "", location?: string | null): ErrorDetails {
    return new ErrorDetails({
      category: "configuration",
      kind: "Nondeterminism",
      resource,
      message,
      ...(location ? { location } : {}),
    });
  }
  static activityFailed(message: string, retryable = false, identity: ErrorIdentity = {}): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "ActivityFailed", message, retryable, ...identity });
  }
  static orchestrationFailed(message: string, identity: ErrorIdentity = {}): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "OrchestrationFailed", message, retryable: false, ...identity });
  }
  static panicked(message: string): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "Panicked", message, retryable: false });
  }
  static cancelled(reason: string): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "Cancelled", message: "", retryable: false, reason });
  }
  static poison(attemptCount: number, maxAttempts: number, messageType: PoisonMessageType, message: string, notRegistered?: NotRegistered): ErrorDetails {
    return new ErrorDetails({ category: "poison", attemptCount, maxAttempts, messageType, message, ...(notRegistered ? { notRegistered } : {}) });
  }

  category(): ErrorCategory {
    return this.data.category;
  }

  isRetryable(): boolean {
    const d = this.data;
    switch (d.category) {
      case "infrastructure":
      case "application":
        return d.retryable;
      default:
        return false;
    }
  }

  /** The string user code and clients see for this error. */
  displayMessage(): string {
    const d = this.data;
    switch (d.category) {
      case "infrastructure":
        return `infrastructure:${d.operation}: ${d.message}`;
      case "configuration":
        return d.message ? `nondeterministic: ${d.message}` : `nondeterministic in ${d.resource}`;
      case "application":
        if (d.kind === "Cancelled") return `canceled: ${d.reason ?? ""}`;
        if (d.kind === "Panicked") return `orchestration panicked: ${d.message}`;
        return d.message;
      case "poison": {
        const t = d.messageType;
        if (d.notRegistered) return notRegisteredMessage(d.notRegistered, t, d.attemptCount, d.maxAttempts);
        if (t.kind === "Orchestration")
          return `poison: orchestration ${t.instance} exceeded ${d.attemptCount} attempts (max ${d.maxAttempts})`;
        if (t.kind === "Activity")
          return `poison: activity ${t.activityName}#${t.activityId} exceeded ${d.attemptCount} attempts (max ${d.maxAttempts})`;
        if (t.kind === "DeadLettered")
          return `poison: orchestration ${t.instance} lost a queued message: ${t.deadLetters.map(describeDeadLetter).join("; ")}`;
        return `poison: orchestration ${t.instance} history deserialization failed after ${d.attemptCount} attempts (max ${d.maxAttempts}): ${t.error}`;
      }
    }
  }

  /** The error's identity fields (empty for non-application errors and for old histories). */
  identity(): ErrorIdentity {
    const d = this.data;
    if (d.category !== "application") return {};
    const out: ErrorIdentity = {};
    if (d.errorName !== undefined) out.errorName = d.errorName;
    if (d.code !== undefined) out.code = d.code;
    if (d.details !== undefined) out.details = d.details;
    if (d.nonRetryable === true) out.nonRetryable = true;
    if (d.activityName !== undefined) out.activityName = d.activityName;
    if (d.attempt !== undefined) out.attempt = d.attempt;
    if (d.lastHeartbeat !== undefined) out.lastHeartbeat = d.lastHeartbeat;
    return out;
  }

  /** The public view of this failure: what getStatus, management and the typed errors show. */
  info(): FailureInfo {
    const id = this.identity();
    const out: FailureInfo = {
      category: this.data.category,
      name: id.errorName ?? "Error",
      message: this.data.category === "application" ? this.data.message : this.displayMessage(),
    };
    if (id.code !== undefined) out.code = id.code;
    if (id.details !== undefined) out.details = id.details;
    if (id.nonRetryable) out.nonRetryable = true;
    if (id.activityName !== undefined) out.activityName = id.activityName;
    if (id.attempt !== undefined) out.attempt = id.attempt;
    return out;
  }

  isCancellation(): boolean {
    return this.data.category === "application" && this.data.kind === "Cancelled";
  }

  toJSON(): ErrorDetailsData {
    return this.data;
  }

  toString(): string {
    return this.displayMessage();
  }
}

/** A failure as users see it: the thrown error's identity plus where it happened. */
export interface FailureInfo {
  category: ErrorCategory;
  /** The thrown error's name ("Error" when it had no custom one, or for system failures). */
  name: string;
  message: string;
  code?: string;
  details?: ErrorJson;
  nonRetryable?: boolean;
  activityName?: string;
  attempt?: number;
}

function jsonOrUndefined(v: unknown): ErrorJson | undefined {
  if (v === undefined) return undefined;
  try {
    const text = JSON.stringify(v);
    return text === undefined ? undefined : (JSON.parse(text) as ErrorJson);
  } catch {
    return undefined; // not JSON (cycles, BigInt): dropped rather than failing the report
  }
}

/** The message of anything thrown. */
export function thrownMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * The identity of a thrown value: its `name` (when not the generic "Error"), string `code`,
 * JSON `details` and non-retryable mark. A TaskFailedError passes on the identity it carries.
 * Library errors (DuroxideError) keep their name but not their generic code.
 */
export function identityOfThrown(err: unknown): ErrorIdentity {
  if (err instanceof TaskFailedError) {
    const { activityName: _a, attempt: _n, lastHeartbeat: _h, ...rest } = err.failure.identity();
    return rest;
  }
  if (typeof err !== "object" || err === null) return {};
  const e = err as { name?: unknown; code?: unknown; details?: unknown; nonRetryable?: unknown };
  const out: ErrorIdentity = {};
  if (typeof e.name === "string" && e.name !== "Error" && e.name.length > 0) out.errorName = e.name;
  if (typeof e.code === "string" && e.code.length > 0) out.code = e.code;
  const details = jsonOrUndefined(e.details);
  if (details !== undefined) out.details = details;
  if (err instanceof NonRetryableError || e.nonRetryable === true) out.nonRetryable = true;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed errors thrown by the public API. This is the one module for the library's error classes:
// every one extends DuroxideError and carries a stable string `code` (switch on `code`, not on
// the message). New error classes go here.

/** Base class of every error this library throws on purpose. */
export class DuroxideError extends Error {
  /** Stable machine-readable identifier of the failure, e.g. `"InstanceNotFound"`. */
  readonly code: string;
  constructor(message: string, code = "Duroxide") {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown into orchestration code when an awaited activity, sub-orchestration or retry failed.
 * It keeps the identity of the error the activity (or child) threw: `name` (when custom),
 * `message`, `code` (the thrown one, else the kind of task) and JSON `details`, plus the activity
 * name and attempt; `failure` holds the full structured record.
 */
export class TaskFailedError extends DuroxideError {
  /** The thrown error's JSON details, if it had any. */
  readonly details: ErrorJson | undefined;
  readonly nonRetryable: boolean;
  /** Activity failures: the activity's name and the attempt that failed. */
  readonly activityName: string | undefined;
  readonly attempt: number | undefined;
  constructor(readonly failure: ErrorDetails, code = "TaskFailed") {
    const id = failure.identity();
    super(failure.displayMessage(), id.code ?? code);
    if (id.errorName !== undefined) this.name = id.errorName;
    this.details = id.details;
    this.nonRetryable = id.nonRetryable === true;
    this.activityName = id.activityName;
    this.attempt = id.attempt;
  }
  category(): ErrorCategory {
    return this.failure.category();
  }
  /** Plain view (name, message, code, details, activity, attempt). */
  info(): FailureInfo {
    return this.failure.info();
  }
}

/** An activity failed (its handler threw, or it was poisoned or cancelled). */
export class ActivityFailedError extends TaskFailedError {
  constructor(failure: ErrorDetails, code = "ActivityFailed") {
    super(failure, code);
  }
}
/** A sub-orchestration failed or was cancelled. */
export class SubOrchestrationFailedError extends TaskFailedError {
  constructor(failure: ErrorDetails, code = "SubOrchestrationFailed") {
    super(failure, code);
  }
}

/**
 * Throw (or extend) this in an activity for a permanent failure (a declined card, a validation
 * error): a retry policy stops at once instead of trying again. Any error with
 * `nonRetryable: true` counts the same. `code` and JSON `details` reach the orchestration.
 */
export class NonRetryableError extends DuroxideError {
  readonly nonRetryable = true;
  readonly details: ErrorJson | undefined;
  constructor(message: string, options: { code?: string; details?: ErrorJson; cause?: unknown } = {}) {
    super(message, options.code ?? "NonRetryable");
    this.details = options.details;
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** How an activity attempt lost to a heartbeat timeout is reported (code "HeartbeatTimeout"). */
export class HeartbeatTimeoutError extends DuroxideError {
  constructor(activityName: string, heartbeatTimeoutMs: number) {
    super(`activity '${activityName}' stopped heartbeating: no heartbeat for ${heartbeatTimeoutMs} ms (attempt lost)`, "HeartbeatTimeout");
  }
}

/** A durable task the orchestration awaited was cancelled (e.g. it lost a race). */
export class TaskCancelledError extends DuroxideError {
  constructor(what: string) {
    super(`${what} task was cancelled`, "TaskCancelled");
  }
}

/** The orchestration's code did not replay the way its history says it ran. */
export class NondeterminismError extends DuroxideError {
  /** `file:line:column` of the orchestration code call that diverged, when known. */
  readonly location: string | null;
  constructor(
    message: string,
    readonly instanceId: string | null = null,
    readonly executionId: number | null = null,
    location: string | null = null,
  ) {
    super(message, "Nondeterminism");
    this.location = location;
  }
}

/** Orchestration code called something that cannot replay deterministically (setTimeout, crypto.randomUUID, ...). */
export class DeterminismViolationError extends DuroxideError {
  constructor(
    message: string,
    /** `file:line:column` of the call, when known. */
    readonly location: string | null = null,
  ) {
    super(message, "DeterminismViolation");
  }
}

/** The code under test has no handler for an orchestration name/version that a history needs. */
export class OrchestrationNotRegisteredError extends DuroxideError {
  constructor(
    readonly orchestrationName: string,
    readonly orchestrationVersion: string | null,
  ) {
    super(
      `orchestration '${orchestrationName}'${orchestrationVersion ? ` version ${orchestrationVersion}` : ""} is not registered`,
      "OrchestrationNotRegistered",
    );
  }
}

/** A history document that this version cannot read (unknown format, newer version, bad shape). */
export class InvalidHistoryError extends DuroxideError {
  constructor(message: string) {
    super(message, "InvalidHistory");
  }
}

/** A client call waited longer than its timeout. Message and code match duroxide-node. */
export class TimeoutError extends DuroxideError {
  constructor(message = "Operation timed out") {
    super(message, "GenericFailure");
  }
}

export class InstanceAlreadyExistsError extends DuroxideError {
  constructor(readonly instanceId: string) {
    super(`Instance '${instanceId}' already exists`, "InstanceAlreadyExists");
  }
}

export class InstanceNotFoundError extends DuroxideError {
  constructor(readonly instanceId: string) {
    super(`Instance '${instanceId}' not found`, "InstanceNotFound");
  }
}

/** Bad arguments given to a public API (empty names, non-JSON values, fractional delays, ...). */
export class InvalidArgumentError extends DuroxideError {
  constructor(message: string, code = "InvalidArgument") {
    super(message, code);
  }
}

/** An orchestration ended in failure; thrown by the typed client helpers. */
export class OrchestrationFailedError extends DuroxideError {
  constructor(readonly instanceId: string, readonly details: ErrorDetails | null, message: string) {
    super(message, "OrchestrationFailed");
  }
}

/** Storage failure. `retryable` tells dispatchers whether to back off and try again. */
export class ProviderError extends DuroxideError {
  constructor(readonly operation: string, message: string, readonly retryable: boolean) {
    super(`${operation}: ${message}`, "ProviderError");
  }
}

/** Thrown by `deleteInstance(id, false)` when the instance (or a descendant) is still running. */
export class InstanceStillRunningError extends DuroxideError {
  constructor(readonly instanceId: string) {
    super(`Instance ${instanceId} is still running. Use force=true or cancel first.`, "InstanceStillRunning");
  }
}

/** Thrown by `deleteInstance` for a sub-orchestration: delete its root instead. */
export class CannotDeleteSubOrchestrationError extends DuroxideError {
  constructor(
    readonly instanceId: string,
    readonly rootId: string,
  ) {
    super(
      `Cannot delete sub-orchestration ${instanceId} directly. Delete the root orchestration instead (root: ${rootId}).`,
      "CannotDeleteSubOrchestration",
    );
  }
}

/** The client's provider has no management (admin) interface. */
export class ManagementNotSupportedError extends DuroxideError {
  constructor(message: string) {
    super(message, "ManagementNotSupported");
  }
}

/** An instance id, name, event or queue name, KV key, ... that no store may hold (see model/identifiers). */
export class InvalidIdentifierError extends InvalidArgumentError {
  constructor(
    /** Which identifier ("instanceId", "KV key", ...). */
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what} ${reason}`, "InvalidIdentifier");
  }
}

// ---------------------------------------------------------------------------------------------
// Payload errors: raised where a value is handed to the library, before anything is stored.

/** A value JSON cannot carry faithfully (a Date, Map, BigInt, NaN, a function, a cycle, ...). */
export class UnsupportedPayloadError extends InvalidArgumentError {
  constructor(
    /** What the value is ("input of activity 'Charge'"). */
    readonly what: string,
    /** Where in the value the offending part sits: `$` is the value itself, then `.key` / `[i]`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${what} cannot be stored as JSON: ${reason} at ${path}`, "UnsupportedPayload");
  }
}

/** A payload (or one execution's history) is larger than its documented limit. */
export class PayloadTooLargeError extends InvalidArgumentError {
  constructor(
    readonly what: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`${what} is ${sizeBytes} bytes, over the limit of ${limitBytes} bytes`, "PayloadTooLarge");
  }
}

/** One problem a schema found: its message and where in the value (property keys and indices). */
export interface ValidationIssue {
  message: string;
  path: ReadonlyArray<PropertyKey>;
}

/** A value did not satisfy the schema of a definition; nothing was stored or scheduled. */
export class ValidationError extends InvalidArgumentError {
  constructor(
    /** What was validated ("input of activity 'Charge'"). */
    readonly what: string,
    readonly issues: ReadonlyArray<ValidationIssue>,
  ) {
    super(`${what} failed validation: ${issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`).join("; ")}`, "ValidationFailed");
  }
}

function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = "$";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : `.${String(k)}`;
  return out;
}

/** A stored payload could not be decoded by the configured payload codec (wrong key, damaged). */
export class PayloadCodecError extends DuroxideError {
  constructor(message: string) {
    super(message, "PayloadCodecFailed");
  }
}

/**
 * A provider's database driver is not installed. The drivers are optional peer dependencies, so
 * an app installs only the one it uses (`better-sqlite3` for SQLite, `pg` for PostgreSQL).
 */
export class DriverNotInstalledError extends DuroxideError {
  constructor(readonly packageName: string, readonly provider: string, cause?: unknown) {
    super(`${provider} needs the '${packageName}' package, which is not installed: run \`npm install ${packageName}\``, "DriverNotInstalled");
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}
