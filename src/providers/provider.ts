// The storage contract. Providers store and queue; the runtime owns orchestration semantics.
import type { HistoryEvent } from "../model/events.js";
import type { DeadLetteredMessage, ErrorDetailsData } from "../model/errors.js";
import type { ActivityIdentity, WorkItem } from "../model/workItems.js";
import type { ExecutionStatus } from "../model/status.js";
import type { KvEntry } from "../model/kv.js";
import type { ProviderAdmin } from "./admin.js";

export type { KvEntry } from "../model/kv.js";
export type { DeadLetteredMessage } from "../model/errors.js";

/** What the orchestration dispatcher works on: one locked instance and its pending messages. */
export interface OrchestrationItem {
  instance: string;
  /** Null while the instance has no row yet (its first start is in `messages`). */
  orchestrationName: string | null;
  orchestrationVersion: string | null;
  /** Current execution id (1 for a new instance). */
  executionId: number;
  /**
   * History of the current execution ordered by event id. When `historyAfterEventId` > 0 this
   * holds only the events after that id: the caller said it already holds the rest.
   */
  history: HistoryEvent[];
  historyAfterEventId: number;
  /** Set when stored history could not be read; `history` is then empty. */
  historyError: string | null;
  /** Messages locked with this item, in arrival order. */
  messages: WorkItem[];
  /**
   * Messages of this instance that could not be read and were moved to the dead letters (absent
   * or empty: none), so the runtime can end the instance in this turn's ack. While the instance
   * exists they are reported by every fetch until a turn is acked (a process that dies in between
   * must not leave the instance running), and an item is returned for them even when no readable
   * message is left.
   */
  deadLettered?: DeadLetteredMessage[];
  /** KV state of previous executions (the current execution's writes are replayed from code). */
  kvSnapshot: Record<string, KvEntry>;
  lockToken: string;
  /** Highest fetch count across the locked messages (1 on first fetch). */
  attemptCount: number;
  /** The instance is suspended on a nondeterminism error (the next stored turn clears it). */
  suspended?: boolean;
  /**
   * False when, as this fetch saw the queue, no other instance was ready to fetch: the caller may
   * wait for a notification (or its poll) instead of fetching again at once. Absent: unknown.
   * Never false while another ready instance was visible to the fetch.
   */
  moreReady?: boolean;
}

/** How far the caller already holds an execution's history in memory. */
export interface KnownHistory {
  executionId: number;
  lastEventId: number;
}

export interface FetchOrchestrationOptions {
  /**
   * What the caller already holds, by instance (a read-only map it keeps; the provider only reads
   * it). When the locked instance's entry names its current execution and that execution's last
   * stored event, only newer events are loaded; otherwise the whole history.
   */
  knownHistory?: ReadonlyMap<string, KnownHistory>;
}

export interface ExecutionMetadata {
  /** Present when the execution's status changes (terminal turns). */
  status?: ExecutionStatus;
  /** Completed: output; ContinuedAsNew: the new input. */
  output?: string | null;
  /** Failed: the error. */
  failure?: ErrorDetailsData | null;
  /** Set on every ack; creates the instance row on the first one. */
  orchestrationName: string;
  orchestrationVersion: string;
  parentInstanceId?: string | null;
}

export interface OrchestrationAck {
  executionId: number;
  /** New events, appended exactly as given (never renumbered, never overwriting). */
  historyDelta: HistoryEvent[];
  workerItems: WorkItem[];
  /** Routed by target instance; TimerFired becomes visible at its fire time. */
  orchestratorItems: WorkItem[];
  metadata: ExecutionMetadata;
  /** Activities withdrawn from the worker queue (applied after `workerItems` are inserted). */
  cancelledActivities: ActivityIdentity[];
  /**
   * Optional: lease these of `workerItems` (indexes, each an `ActivityExecute`) to the acking
   * process in the ack's own write, so it runs them without a fetch. Each gets its own lock token,
   * attempt 1, and a lock that expires after `lockTimeoutMs` like any lease; they are returned in
   * `AckResult.leases`, in the order given. A provider that ignores this returns no leases and the
   * items are fetched as usual.
   */
  leaseWorkerItems?: { indexes: number[]; lockTimeoutMs: number };
}

/** Optional worker-ack behaviour (see `Provider.ackWorkItem`). */
export interface WorkAckOptions {
  /**
   * Lock the completion's instance for the caller in the ack's own write when nobody holds it,
   * and return it as `fetchOrchestrationItem` would (`WorkAckResult.item`: every visible message,
   * the completion included, with `knownHistory` honoured), so the caller's orchestrator runs the
   * turn without a fetch. The lock expires after `lockTimeoutMs` like a fetched one. A provider
   * that ignores this returns no item, and the completion is fetched as usual.
   */
  lockInstance?: { lockTimeoutMs: number } & FetchOrchestrationOptions;
}

/** What a worker ack hands back. */
export interface WorkAckResult {
  /** The completion's instance, locked for the caller (see `WorkAckOptions.lockInstance`); null: not taken. */
  item: OrchestrationItem | null;
}

/**
 * A turn the caller already ran on the execution it holds, for the completion it acks
 * (`Provider.ackWorkItemWithTurn`): the completion is its only message.
 */
export interface CompletionTurn {
  /** The instance (the completion's target). */
  instance: string;
  /** Where the held execution stood before the turn: the store applies it only if it still stands there. */
  executionId: number;
  lastEventId: number;
  /** The turn's ack, as `ackOrchestrationItem` takes it (its history delta holds the completion's event). */
  ack: OrchestrationAck;
}

/** What `Provider.ackWorkItemWithTurn` did, besides deleting the work item. */
export type WorkTurnAckResult =
  /** The turn was stored with the ack (the completion was consumed by it, never queued). */
  | { applied: true; leases: WorkItemLease[] }
  /** Not applied: the completion was queued as `ackWorkItem` queues it, `item` as there. */
  | { applied: false; item: OrchestrationItem | null };

/**
 * The first turn of a new instance, run by the caller for the start it makes
 * (`Provider.createInstanceWithTurn`): the start is the turn's only message.
 */
export interface StartTurn {
  /** The turn's ack, as `ackOrchestrationItem` takes it (execution 1; its delta begins with OrchestrationStarted). */
  ack: OrchestrationAck;
}

/** What `Provider.createInstanceWithTurn` did (it rejects as `createInstance` does when the id is taken). */
export type StartTurnResult =
  /** The instance was created with its first turn stored (the start was consumed by it, never queued). */
  | { applied: true; leases: WorkItemLease[] }
  /** Not applied: the start was queued as `createInstance` queues it. */
  | { applied: false };

/** What an orchestrator ack hands back. */
export interface AckResult {
  /** The worker items leased to the caller (see `OrchestrationAck.leaseWorkerItems`). */
  leases: WorkItemLease[];
}

export type TagFilter =
  | { kind: "defaultOnly" }
  | { kind: "tags"; tags: string[] }
  | { kind: "defaultAnd"; tags: string[] }
  | { kind: "any" }
  | { kind: "none" };

export interface SessionFetchConfig {
  ownerId: string;
  lockTimeoutMs: number;
}

export interface FetchWorkOptions {
  tagFilter: TagFilter;
  /** Absent: only items without a session are returned. */
  session?: SessionFetchConfig;
}

export interface WorkItemLease {
  item: WorkItem & { type: "ActivityExecute" };
  lockToken: string;
  attemptCount: number;
  /** The last heartbeat details stored by an earlier delivery of this item (null: none). */
  heartbeatDetails?: string | null;
  /** True when the previous lease lapsed (expired without an ack or abandon): its holder was lost. */
  lapsed?: boolean;
  /** As `OrchestrationItem.moreReady`: false when no other item this caller may fetch was ready. */
  moreReady?: boolean;
}

export interface StoredStatus {
  orchestrationName: string;
  orchestrationVersion: string | null;
  executionId: number;
  status: ExecutionStatus;
  output: string | null;
  failure: ErrorDetailsData | null;
  customStatus: string | null;
  customStatusVersion: number;
  parentInstanceId: string | null;
  /** Set while the instance is suspended (onNondeterminism: "suspend"): the error it waits on. */
  suspension?: ErrorDetailsData | null;
}

/** In-process wake-ups so dispatchers and waiting clients need not poll a local store. */
export type ProviderNotification =
  | { kind: "orchestrator"; visibleAtMs: number }
  | { kind: "worker" }
  | { kind: "instanceChanged"; instance: string; changes?: InstanceChanges }
  | { kind: "activitiesCancelled"; activities: ActivityIdentity[] };

/** What an ack changed, so waiters wake only for what they wait on (absent: assume anything). */
export interface InstanceChanges {
  /** The execution's status changed (it completed, failed or continued as new). */
  status: boolean;
  customStatus: boolean;
  kv: boolean;
}

/** The changes an ack makes, as reported in its `instanceChanged` notification. */
export function changesOfAck(ack: OrchestrationAck): InstanceChanges {
  let customStatus = false;
  let kv = false;
  for (const e of ack.historyDelta) {
    if (e.type === "CustomStatusUpdated") customStatus = true;
    else if (e.type === "KeyValueSet" || e.type === "KeyValueCleared" || e.type === "KeyValuesCleared") kv = true;
  }
  return { status: ack.metadata.status !== undefined, customStatus, kv };
}

export type NotificationListener = (n: ProviderNotification) => void;

export interface EnqueueOptions {
  delayMs?: number;
  /** Reject with InstanceNotFoundError unless the instance exists or its start is queued. */
  requireInstance?: boolean;
}

/** What a store holds that could run, for time skipping in tests (`Provider.pendingWork`). */
export interface PendingWork {
  /** Something can be fetched right now (orchestrator or worker queue). */
  runnable: boolean;
  /** Instances locked by a running turn. */
  lockedInstances: number;
  /** Activities leased by a worker (running). */
  runningActivities: ActivityIdentity[];
  /** The earliest time a not yet visible orchestrator message (a durable timer, a delay) becomes visible. */
  nextVisibleAtMs: number | null;
}

export interface Provider {
  readonly name: string;
  /**
   * True when `subscribe` also reports writes made by other processes (e.g. PostgreSQL
   * LISTEN/NOTIFY). Waiters then poll only as a slow safety net.
   */
  readonly notifiesAcrossProcesses?: boolean;

  // ---- orchestrator queue ----
  fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null>;
  /**
   * Optional batch fetch: up to `max` instances in one round trip (one transaction), each locked
   * on its own exactly as `fetchOrchestrationItem` locks one: its own lock token, all its visible
   * messages, its history (honouring `knownHistory`), KV snapshot, attempt count and dead-letter
   * handling. No instance appears twice. Empty: nothing was ready. `moreReady` of the last item
   * says whether more was ready after the batch (earlier items: true). A store without it is
   * fetched one instance per call.
   */
  fetchOrchestrationItems?(max: number, lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem[]>;
  /** Applies the ack atomically; returns the worker items it leased to the caller, if asked to. */
  ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult | void>;
  abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void>;
  renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void>;
  enqueueForOrchestrator(item: WorkItem, options?: EnqueueOptions): Promise<void>;
  /** Queue a new instance's start; rejects with InstanceAlreadyExistsError if it exists or is queued. */
  createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void>;
  /**
   * Optional: a new instance and its first turn, in one atomic write. The caller ran `turn` ahead
   * of the write, on a new execution, with `item` as its only message. In one transaction the store
   * does what `createInstance(item)` does when the id is taken (rejects with
   * InstanceAlreadyExistsError if the instance exists or a start is queued for it: nothing is
   * written), and otherwise, when nobody holds a live lock on the instance and no message of it is
   * visible (it would belong to the turn), applies the turn as `ackOrchestrationItem` would for an
   * instance it had fetched and locked (leases included): the start is consumed by the turn and
   * never queued. When the instance is not free it queues the start exactly as `createInstance`
   * does and reports `applied: false`; the caller then drops the turn it ran.
   */
  createInstanceWithTurn?(item: WorkItem & { type: "StartOrchestration" }, turn: StartTurn): Promise<StartTurnResult>;

  // ---- worker queue ----
  enqueueForWorker(item: WorkItem): Promise<void>;
  /**
   * Leases the next item for `lockTimeoutMs`, or for the item's own `heartbeatTimeoutMs` when it
   * has one.
   */
  fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null>;
  /**
   * Optional batch fetch: up to `max` work items in one round trip (one transaction), each leased
   * on its own exactly as `fetchWorkItem` leases one: its own lock token and lease length, attempt
   * count, heartbeat details, `lapsed`, the tag filter and session rules (a session is claimed for
   * `options.session.ownerId` as a single fetch claims it), unreadable items moved to the dead
   * letters. Empty: nothing was ready. `moreReady` as for `fetchOrchestrationItems`. A store
   * without it is fetched one item per call.
   */
  fetchWorkItems?(max: number, lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease[]>;
  /**
   * Deletes the item (if still locked by this token) and enqueues the completion, atomically;
   * optionally also locks the completion's instance for the caller (`WorkAckOptions.lockInstance`).
   */
  ackWorkItem(lockToken: string, completion: WorkItem | null, options?: WorkAckOptions): Promise<WorkAckResult | void>;
  /**
   * Extends the lock to now + `extendMs` (rejects with a non-retryable ProviderError once the lock
   * expired or moved on). With `heartbeatDetails`, also stores them on the item; the next delivery
   * of the item reports them in `WorkItemLease.heartbeatDetails`.
   */
  /**
   * Optional: the worker ack and the turn its completion causes, in one atomic write. The caller
   * ran `turn` ahead of the ack on the execution it holds in memory, with the completion as the
   * turn's only message. In the same transaction the store deletes the work item (rejecting as
   * `ackWorkItem` does when the lock token is no longer valid: then nothing is written) and then,
   * under the instance's lock discipline (nobody holds a live lock on the instance, no fetch or ack
   * of it runs concurrently), applies the turn as `ackOrchestrationItem` would (leases included)
   * only if the instance's current execution and its last stored event are `turn.executionId` and
   * `turn.lastEventId` and no other message of the instance is visible in the queue (it would have
   * to be part of the turn). Otherwise it does exactly what `ackWorkItem(lockToken, completion,
   * options)` does and reports `applied: false`; the caller then drops the turn it ran.
   */
  ackWorkItemWithTurn?(lockToken: string, completion: WorkItem, turn: CompletionTurn, options?: WorkAckOptions): Promise<WorkTurnAckResult>;
  renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void>;
  abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void>;
  /** True while the activity's row still exists (false once withdrawn by a cancellation). */
  isActivityPending(id: ActivityIdentity): Promise<boolean>;

  // ---- sessions ----
  renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number>;
  cleanupOrphanedSessions(idleTimeoutMs: number): Promise<number>;

  // ---- reads ----
  /** History of the latest execution. */
  read(instance: string): Promise<HistoryEvent[]>;
  readExecution(instance: string, executionId: number): Promise<HistoryEvent[]>;
  getStatus(instance: string): Promise<StoredStatus | null>;
  getKvValue(instance: string, key: string): Promise<string | null>;
  getKvAllValues(instance: string): Promise<Record<string, string>>;

  /**
   * Optional: release a turn without storing it because the code does not replay the history:
   * the messages become visible again after `retryInMs` (no attempt counted) and the instance
   * records `error` as its suspension until a later turn is acked.
   */
  suspendOrchestrationItem?(lockToken: string, error: ErrorDetailsData, retryInMs: number): Promise<void>;

  /** Optional: a snapshot of pending work, used by the test kit to skip time when idle. */
  pendingWork?(): Promise<PendingWork>;

  // ---- lifecycle ----
  subscribe(listener: NotificationListener): () => void;
  /** Management queries, where supported. */
  readonly admin?: ProviderAdmin;
  close(): Promise<void>;
}
