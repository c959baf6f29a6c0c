// The ack plan: what one orchestration ack must write, worked out once, in one pure function, from
// the OrchestrationAck, so every store applies the same rules and only has to run its SQL.
//  - custom status: the last CustomStatusUpdated of the delta wins (version +1 once per ack);
//  - KV: events are folded in order; a KeyValuesCleared tombstones every key the instance holds at
//    its time and drops the writes before it; each key then keeps its last write (null = cleared);
//    a store keeps these per execution and merges them into the instance's KV when it ends;
//  - orchestrator items become visible now, TimerFired at its fire time; a terminal ack drops the
//    instance's queued timers;
//  - what changed, for the `instanceChanged` notification.
import type { ExecutionStatus } from "../model/status.js";
import type { WorkItem } from "../model/workItems.js";
import { randomUUID } from "node:crypto";
import { changesOfAck, type InstanceChanges, type OrchestrationAck, type WorkItemLease } from "./provider.js";

/** Execution statuses that end an execution (KV merges, `completed_at` is set). */
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>(["Completed", "Failed", "ContinuedAsNew"]);

export interface KvWrite {
  key: string;
  /** null: the key was cleared. */
  value: string | null;
  at: number;
}

export interface AckPlan {
  /** Set when the delta updates the custom status: its final value. */
  customStatus: { value: string | null } | null;
  /** Time of the delta's last KeyValuesCleared, if any: tombstone every key the instance holds. */
  kvClearAllAt: number | null;
  /** After the clear-all (if any): the last write of each key, in first-write order. */
  kvWrites: KvWrite[];
  /** The ack ends the execution (its queued timers are dropped). */
  terminal: boolean;
  /** The ack records something (history or a status): only then does the instance's `updated_at` move. */
  changesInstance: boolean;
  /** Orchestrator items with the time each becomes visible. */
  orchestratorItems: Array<{ item: WorkItem; visibleAt: number }>;
  /** Distinct visibility times of the orchestrator items (one wake-up each). */
  wakeTimes: number[];
  changes: InstanceChanges;
}

export function planAck(ack: OrchestrationAck, now: number): AckPlan {
  let customStatus: { value: string | null } | null = null;
  let kvClearAllAt: number | null = null;
  const kv = new Map<string, KvWrite>();
  for (const ev of ack.historyDelta) {
    switch (ev.type) {
      case "CustomStatusUpdated":
        customStatus = { value: ev.status };
        break;
      case "KeyValueSet":
        kv.delete(ev.key);
        kv.set(ev.key, { key: ev.key, value: ev.value, at: ev.lastUpdatedAtMs });
        break;
      case "KeyValueCleared":
        kv.delete(ev.key);
        kv.set(ev.key, { key: ev.key, value: null, at: ev.timestampMs });
        break;
      case "KeyValuesCleared":
        kvClearAllAt = ev.timestampMs;
        kv.clear();
        break;
      default:
        break;
    }
  }
  const orchestratorItems = ack.orchestratorItems.map((item) => ({ item, visibleAt: visibleAtOf(item, now) }));
  const status = ack.metadata.status;
  return {
    customStatus,
    kvClearAllAt,
    kvWrites: [...kv.values()],
    terminal: status !== undefined && TERMINAL_STATUSES.has(status),
    changesInstance: ack.historyDelta.length > 0 || status !== undefined,
    orchestratorItems,
    wakeTimes: [...new Set(orchestratorItems.map((o) => o.visibleAt))],
    changes: changesOfAck(ack),
  };
}

/** When an orchestrator item becomes visible: after `delayMs` if one is given, a TimerFired at its fire time, anything else now. */
export function visibleAtOf(item: WorkItem, now: number, delayMs?: number): number {
  if (delayMs !== undefined && delayMs > 0) return now + delayMs;
  return item.type === "TimerFired" ? item.fireAtMs : now;
}

/**
 * The leases an ack hands its caller (`OrchestrationAck.leaseWorkerItems`), by worker item index,
 * in the order asked: each with a new lock token, attempt 1. Indexes that are out of range or not
 * an `ActivityExecute` are skipped. The store writes each item locked with its token.
 */
export function leasesOf(ack: OrchestrationAck): Map<number, WorkItemLease> {
  const out = new Map<number, WorkItemLease>();
  for (const k of ack.leaseWorkerItems?.indexes ?? []) {
    const item = ack.workerItems[k];
    if (item === undefined || item.type !== "ActivityExecute" || out.has(k)) continue;
    out.set(k, { item, lockToken: randomUUID(), attemptCount: 1, heartbeatDetails: null, lapsed: false });
  }
  return out;
}
