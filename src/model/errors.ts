// Error details recorded in history and surfaced to users, with the reference's four categories.

export type ErrorCategory = "infrastructure" | "configuration" | "application" | "poison";

export type AppErrorKind = "ActivityFailed" | "OrchestrationFailed" | "Panicked" | "Cancelled";

export type PoisonMessageType =
  | { kind: "Orchestration"; instance: string; executionId: number }
  | { kind: "Activity"; instance: string; executionId: number; activityName: string; activityId: number }
  | { kind: "FailedDeserialization"; instance: string; executionId: number; error: string };

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
  | {
      category: "application";
      kind: AppErrorKind;
      message: string;
      retryable: boolean;
      /** Set for kind `Cancelled`. */
      reason?: string;
    }
  | {
      category: "poison";
      attemptCount: number;
      maxAttempts: number;
      messageType: PoisonMessageType;
      /** JSON of the offending message(s). */
      message: string;
    };

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
  static activityFailed(message: string, retryable = false): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "ActivityFailed", message, retryable });
  }
  static orchestrationFailed(message: string): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "OrchestrationFailed", message, retryable: false });
  }
  static panicked(message: string): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "Panicked", message, retryable: false });
  }
  static cancelled(reason: string): ErrorDetails {
    return new ErrorDetails({ category: "application", kind: "Cancelled", message: "", retryable: false, reason });
  }
  static poison(attemptCount: number, maxAttempts: number, messageType: PoisonMessageType, message: string): ErrorDetails {
    return new ErrorDetails({ category: "poison", attemptCount, maxAttempts, messageType, message });
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
        if (t.kind === "Orchestration")
          return `poison: orchestration ${t.instance} exceeded ${d.attemptCount} attempts (max ${d.maxAttempts})`;
        if (t.kind === "Activity")
          return `poison: activity ${t.activityName}#${t.activityId} exceeded ${d.attemptCount} attempts (max ${d.maxAttempts})`;
        return `poison: orchestration ${t.instance} history deserialization failed after ${d.attemptCount} attempts (max ${d.maxAttempts}): ${t.error}`;
      }
    }
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

/** Thrown into orchestration code when an awaited activity, sub-orchestration or retry failed. */
export class TaskFailedError extends DuroxideError {
  constructor(readonly details: ErrorDetails, code = "TaskFailed") {
    super(details.displayMessage(), code);
  }
  category(): ErrorCategory {
    return this.details.category();
  }
}

/** An activity failed (its handler threw, or it was poisoned or cancelled). */
export class ActivityFailedError extends TaskFailedError {
  constructor(details: ErrorDetails, code = "ActivityFailed") {
    super(details, code);
  }
}
/** A sub-orchestration failed or was cancelled. */
export class SubOrchestrationFailedError extends TaskFailedError {
  constructor(details: ErrorDetails, code = "SubOrchestrationFailed") {
    super(details, code);
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
