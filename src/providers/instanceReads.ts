// Reads outside a turn, once for every store: an instance's status row as `StoredStatus`, and its
// KV values (the current execution's changes over the values stored when executions ended).
import type { ExecutionStatus } from "../model/status.js";
import { decodeFailure, num, setEntry } from "./codec.js";
import type { StoredStatus } from "./provider.js";

/** The instance joined with its current execution (`status`.. null while that has no row). */
export interface StatusRow {
  orchestration_name: string;
  orchestration_version: string | null;
  current_execution_id: number | string;
  custom_status: string | null;
  custom_status_version: number | string;
  parent_instance_id: string | null;
  /** Null when the instance is not suspended (or its suspension no longer counts). */
  suspension: string | null;
  status: ExecutionStatus | null;
  output: string | null;
  failure: string | null;
}

export function storedStatusOf(row: StatusRow): StoredStatus {
  return {
    orchestrationName: row.orchestration_name,
    orchestrationVersion: row.orchestration_version,
    executionId: num(row.current_execution_id),
    status: row.status ?? "Running",
    output: row.output,
    failure: decodeFailure(row.failure),
    customStatus: row.custom_status,
    customStatusVersion: num(row.custom_status_version),
    parentInstanceId: row.parent_instance_id,
    suspension: decodeFailure(row.suspension),
  };
}

export interface KvRow {
  key: string;
  /** Null in a change: the key was cleared. */
  value: string | null;
}

/** The instance's KV values: the stored ones, then the current execution's changes over them. */
export function mergeKvValues(stored: Iterable<KvRow>, changes: Iterable<KvRow>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of stored) if (r.value !== null) setEntry(out, r.key, r.value);
  for (const r of changes) {
    if (r.value === null) delete out[r.key];
    else setEntry(out, r.key, r.value);
  }
  return out;
}
