// Management queries (the reference's ProviderAdmin).
import type { HistoryEvent } from "../model/events.js";
import type { ExecutionStatus } from "../model/status.js";
import type { WorkItem } from "../model/workItems.js";
import { InvalidArgumentError, type ErrorDetailsData } from "../model/errors.js";
import { decodeWorkItem } from "./codec.js";

export interface InstanceInfo {
  instanceId: string;
  orchestrationName: string;
  orchestrationVersion: string;
  currentExecutionId: number;
  status: ExecutionStatus;
  output: string | null;
  /** The current execution's failure, when it failed (optional: providers predating it omit it). */
  failure?: ErrorDetailsData | null;
  createdAt: number;
  updatedAt: number;
  parentInstanceId: string | null;
}

export interface ExecutionInfo {
  executionId: number;
  status: ExecutionStatus;
  output: string | null;
  failure?: ErrorDetailsData | null;
  startedAt: number;
  completedAt: number | null;
  eventCount: number;
}

export interface SystemMetrics {
  totalInstances: number;
  totalExecutions: number;
  runningInstances: number;
  completedInstances: number;
  failedInstances: number;
  totalEvents: number;
}

export interface QueueDepths {
  orchestratorQueue: number;
  workerQueue: number;
  timerQueue: number;
}

/** An instance and all of its descendants (sub-orchestrations, recursively). */
export interface InstanceTree {
  rootId: string;
  /** The root first, then descendants breadth-first. */
  allIds: string[];
  size: number;
}

export interface DeleteInstanceResult {
  instancesDeleted: number;
  executionsDeleted: number;
  eventsDeleted: number;
  /** Orchestrator-queue plus worker-queue rows removed. */
  queueMessagesDeleted: number;
}

export interface PruneOptions {
  /** Keep this many newest executions (the current one counts). Absent, 0 and 1: keep only the current. */
  keepLast?: number;
  /** Only executions that completed before this time (ms since epoch). ANDed with `keepLast`. */
  completedBefore?: number;
}

export interface PruneResult {
  /** Instances examined (1 for `pruneExecutions`). */
  instancesProcessed: number;
  executionsDeleted: number;
  eventsDeleted: number;
}

/** Selects instances for the bulk operations; criteria are ANDed. */
export interface InstanceFilter {
  /** Only these ids (an empty list matches nothing). */
  instanceIds?: string[];
  /** Only instances whose current execution completed before this time (ms since epoch). */
  completedBefore?: number;
  /** At most this many instances (default 1000). */
  limit?: number;
}

/** Per-instance storage footprint (duroxide-node `SystemStats`). */
export interface OrchestrationStats {
  historyEventCount: number;
  /** Bytes of stored event data across all executions. */
  historySizeBytes: number;
  /** Orchestrator- and worker-queue messages addressed to the instance. */
  queuePendingCount: number;
  kvUserKeyCount: number;
  kvTotalValueBytes: number;
}

export interface ListInstancesOptions {
  /** Status of the current execution. */
  status?: ExecutionStatus;
  orchestrationName?: string;
  /** created_at >= createdAfter (ms). */
  createdAfter?: number;
  /** created_at < createdBefore (ms). */
  createdBefore?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
  /** Page size, 1..1000 (default 100). */
  limit?: number;
}

export interface InstanceSummary {
  instanceId: string;
  orchestrationName: string;
  orchestrationVersion: string;
  status: ExecutionStatus;
  currentExecutionId: number;
  createdAt: number;
  updatedAt: number;
  parentInstanceId: string | null;
}

/** One page of instances, newest first (created_at DESC, instance_id DESC). */
export interface InstancePage {
  items: InstanceSummary[];
  instanceIds: string[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_BULK_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/**
 * An instance counts as running while its current execution is Running or ContinuedAsNew (the
 * next execution of the chain is queued). Deletion without force refuses running instances, and
 * bulk deletion skips them. (The reference bulk-deletes ContinuedAsNew instances; we don't,
 * because the instance is live.)
 */
export function isLiveStatus(s: ExecutionStatus | null | undefined): boolean {
  return s === null || s === undefined || s === "Running" || s === "ContinuedAsNew";
}

export function encodeCursor(createdAt: number, instanceId: string): string {
  return Buffer.from(JSON.stringify([createdAt, instanceId]), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: number; instanceId: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && Number.isFinite(v[0]) && typeof v[1] === "string")
      return { createdAt: v[0], instanceId: v[1] };
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`invalid cursor ${JSON.stringify(cursor)}`);
}

/** Page options as a store's query takes them: checked, with nulls for "no filter". */
export interface InstancePageQuery {
  status: ExecutionStatus | null;
  name: string | null;
  after: number | null;
  before: number | null;
  cursor: { createdAt: number; instanceId: string } | null;
  limit: number;
}

/** Validates and normalises page options (shared by both providers). */
export function normalizePageOptions(o: ListInstancesOptions = {}): InstancePageQuery {
  const limit = o.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT)
    throw new InvalidArgumentError(`limit must be an integer in 1..${MAX_PAGE_LIMIT}, got ${String(limit)}`);
  if (o.status !== undefined && !["Running", "Completed", "Failed", "ContinuedAsNew"].includes(o.status))
    throw new InvalidArgumentError(`unknown status '${String(o.status)}'`);
  for (const [k, v] of [["createdAfter", o.createdAfter], ["createdBefore", o.createdBefore]] as const)
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) throw new InvalidArgumentError(`${k} must be a number (ms)`);
  return {
    status: o.status ?? null,
    name: o.orchestrationName ?? null,
    after: o.createdAfter ?? null,
    before: o.createdBefore ?? null,
    cursor: o.cursor === undefined || o.cursor === null ? null : decodeCursor(o.cursor),
    limit,
  };
}

export function normalizeBulkLimit(limit: number | undefined): number {
  const l = limit ?? DEFAULT_BULK_LIMIT;
  if (!Number.isInteger(l) || l < 0) throw new InvalidArgumentError(`limit must be a non-negative integer, got ${String(limit)}`);
  return l;
}

/** keepLast absent/0/1 all mean "keep only the current execution". */
export function normalizeKeepLast(keepLast: number | undefined): number {
  if (keepLast === undefined) return 1;
  if (!Number.isInteger(keepLast) || keepLast < 0) throw new InvalidArgumentError(`keepLast must be a non-negative integer`);
  return Math.max(1, keepLast);
}

/** A queue message a store set aside because it could not be processed (unreadable, or an id no query can match). */
export interface DeadLetter {
  id: number;
  queue: "orchestrator" | "worker";
  instanceId: string | null;
  /** Why it was set aside. */
  error: string;
  createdAtMs: number;
  /** The stored message as it was. */
  payload: string | null;
  /** The message, when the payload can be read (only such dead letters can be retried). */
  item: WorkItem | null;
}

export interface ListDeadLettersOptions {
  /** Page size (default 100). */
  limit?: number;
  /** Only dead letters with a larger id (keyset paging: pass the last id of the previous page). */
  afterId?: number;
}

/** Dead-letter management, implemented by both shipped stores. */
export interface DeadLetterAdmin {
  listDeadLetters(options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
  getDeadLetter(id: number): Promise<DeadLetter | null>;
  /** Removes one dead letter; false when there was none with this id. */
  discardDeadLetter(id: number): Promise<boolean>;
}

/** The page size of a dead-letter listing, checked. */
export function deadLetterLimit(limit: number | undefined): number {
  const l = limit ?? 100;
  if (!Number.isInteger(l) || l < 1) throw new InvalidArgumentError(`limit must be a positive integer, got ${String(limit)}`);
  return l;
}

export interface ProviderAdmin {
  listInstances(): Promise<string[]>;
  listInstancesByStatus(status: ExecutionStatus): Promise<string[]>;
  listExecutions(instance: string): Promise<number[]>;
  getInstanceInfo(instance: string): Promise<InstanceInfo>;
  getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo>;
  readHistory(instance: string, executionId: number): Promise<HistoryEvent[]>;
  getSystemMetrics(): Promise<SystemMetrics>;
  getQueueDepths(): Promise<QueueDepths>;
  listChildren(instance: string): Promise<string[]>;

  /** Keyset-paged listing on indexed columns; newest first. */
  listInstancesPage(options?: ListInstancesOptions): Promise<InstancePage>;
  /** Unknown → InstanceNotFoundError. */
  getInstanceTree(instance: string): Promise<InstanceTree>;
  /**
   * Deletes a root instance and all its descendants atomically (history, executions, both queues,
   * instance locks, KV). Refuses (InstanceStillRunningError) if any of them is running unless
   * `force`; refuses a sub-orchestration (CannotDeleteSubOrchestrationError); unknown →
   * InstanceNotFoundError. Deleting the instance lock makes an in-flight ack fail.
   */
  deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult>;
  /** Terminal (Completed/Failed) roots matching the filter, each with its tree; trees with a running member are skipped. */
  deleteInstanceBulk(filter?: InstanceFilter): Promise<DeleteInstanceResult>;
  /** Deletes old executions (never the current one, never a Running one); KV untouched; atomic. */
  pruneExecutions(instance: string, options?: PruneOptions): Promise<PruneResult>;
  /** `pruneExecutions` for every instance matching the filter (running instances included). */
  pruneExecutionsBulk(filter?: InstanceFilter, options?: PruneOptions): Promise<PruneResult>;
  /** Null for an unknown instance. */
  getOrchestrationStats(instance: string): Promise<OrchestrationStats | null>;
  /** Dead letters (optional for third-party providers; both shipped stores have them). */
  deadLetters?: DeadLetterAdmin;
}

/** A `dead_letters` row as either store returns it (PostgreSQL gives BIGINT columns as strings). */
export interface DeadLetterRow {
  id: string | number;
  queue: string;
  instance_id: string | null;
  payload: string | null;
  error: string;
  created_at: string | number;
}

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  const decoded = r.payload === null ? null : decodeWorkItem(r.payload);
  return {
    id: Number(r.id),
    queue: r.queue === "worker" ? "worker" : "orchestrator",
    instanceId: r.instance_id,
    error: r.error,
    createdAtMs: Number(r.created_at),
    payload: r.payload,
    item: decoded !== null && decoded.ok ? decoded.value : null,
  };
}
