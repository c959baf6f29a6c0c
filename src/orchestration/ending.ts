// How an execution ends, as one value, and what each ending writes.
//
// The code's own ending (it returned, threw, or asked to continue as new) and a cancel of the
// instance are decided once: the first one stands. A broken execution (nondeterminism, a system
// error it may not handle) overrides any of them, because the ending the code reached is not
// trustworthy then.
import { ActivityFailedError, ErrorDetails, SubOrchestrationFailedError, identityOfThrown, thrownMessage, type ErrorDetailsData } from "../model/errors.js";
import type { EventKind } from "../model/events.js";
import type { ExecutionStatus } from "../model/status.js";
import { encodeJson } from "../model/json.js";

export type Ending =
  | { kind: "completed"; output: string }
  | { kind: "failed"; details: ErrorDetails }
  | { kind: "continuedAsNew"; input: string; version: string | null }
  | { kind: "cancelled"; reason: string }
  | { kind: "broken"; details: ErrorDetails };

/** The ending that stands when `next` happens after `current`. */
export function laterEnding(current: Ending | null, next: Ending): Ending {
  if (current === null) return next;
  return next.kind === "broken" && current.kind !== "broken" ? next : current;
}

/** The code's return value or thrown error, as an ending. */
export function endingOfResult(s: { ok: true; value: unknown } | { ok: false; error: unknown }): Ending {
  if (s.ok) {
    try {
      return { kind: "completed", output: encodeJson(s.value, "orchestration output") };
    } catch (err) {
      return { kind: "failed", details: ErrorDetails.orchestrationFailed((err as Error).message) };
    }
  }
  if (s.error instanceof ActivityFailedError || s.error instanceof SubOrchestrationFailedError) {
    // A task failure the code let escape: application errors stay application errors, and keep
    // the identity (name, code, details) of the error first thrown, for this instance's parent.
    const d = s.error.failure;
    return {
      kind: "failed",
      details: d.category() === "application" ? ErrorDetails.orchestrationFailed(d.displayMessage(), identityOfThrown(s.error)) : d,
    };
  }
  return { kind: "failed", details: ErrorDetails.orchestrationFailed(thrownMessage(s.error), identityOfThrown(s.error)) };
}

/** What an ending writes: the reasons on cancelled work, the terminal event, status, and the parent's news. */
export interface Termination {
  /** Reason recorded on ActivityCancelRequested for activities still outstanding. */
  activityReason: string;
  /** Reason recorded on SubOrchestrationCancelRequested and sent with the children's cancel. */
  childReason: string;
  /** Detached orchestrations started this turn are not started (the instance was cancelled). */
  dropsDetachedStarts: boolean;
  terminal: EventKind;
  status: Exclude<ExecutionStatus, "Running">;
  output: string | null;
  failure: ErrorDetailsData | null;
  /** What a parent hears (continue-as-new: nothing yet; the last execution reports). */
  report: { ok: true; result: string } | { ok: false; details: ErrorDetailsData } | null;
}

const DROPPED_CHILD = "parent dropped sub-orchestration future";

export function terminationOf(e: Ending): Termination {
  switch (e.kind) {
    case "completed":
      return {
        activityReason: "orchestration_terminal_completed",
        childReason: DROPPED_CHILD,
        dropsDetachedStarts: false,
        terminal: { type: "OrchestrationCompleted", output: e.output },
        status: "Completed",
        output: e.output,
        failure: null,
        report: { ok: true, result: e.output },
      };
    case "continuedAsNew":
      return {
        activityReason: "orchestration_terminal_continued_as_new",
        childReason: DROPPED_CHILD,
        dropsDetachedStarts: false,
        terminal: { type: "OrchestrationContinuedAsNew", input: e.input },
        status: "ContinuedAsNew",
        output: e.input,
        failure: null,
        report: null,
      };
    case "cancelled":
      return failedWith(ErrorDetails.cancelled(e.reason).data, "parent canceled", true);
    case "failed":
    case "broken":
      return failedWith(e.details.data, DROPPED_CHILD, false);
  }
}

function failedWith(details: ErrorDetailsData, childReason: string, dropsDetachedStarts: boolean): Termination {
  return {
    activityReason: "orchestration_terminal_failed",
    childReason,
    dropsDetachedStarts,
    terminal: { type: "OrchestrationFailed", details },
    status: "Failed",
    output: null,
    failure: details,
    report: { ok: false, details },
  };
}
