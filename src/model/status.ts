// Status shapes seen by clients.
import type { ErrorDetails, FailureInfo } from "./errors.js";

export type ExecutionStatus = "Running" | "Completed" | "Failed" | "ContinuedAsNew";

/** duroxide-node result shape. Absent fields are omitted, never set to undefined. */
export interface OrchestrationStatus {
  status: "NotFound" | "Running" | "Completed" | "Failed";
  output?: unknown;
  error?: string;
  /** Failed: the error's identity (name, message, code, details, activity, attempt). */
  failure?: FailureInfo;
  customStatus?: string;
  customStatusVersion: number;
  /** Running but suspended (onNondeterminism: "suspend"): the nondeterminism error it waits on. */
  suspension?: string;
}

/** Richer status view with typed error details (our addition). */
export interface InstanceState {
  instanceId: string;
  status: "NotFound" | "Running" | "Completed" | "Failed";
  orchestrationName: string | null;
  orchestrationVersion: string | null;
  executionId: number;
  /** Raw output string (Completed) or null. */
  output: string | null;
  failure: ErrorDetails | null;
  customStatus: string | null;
  customStatusVersion: number;
  /** Running but suspended on this nondeterminism error until code that replays its history runs. */
  suspension: ErrorDetails | null;
}
