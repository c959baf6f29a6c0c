// The narrow interface OrchestrationContext uses to talk to the engine. The context is the user's
// API; everything that records a decision, subscribes a future or reads engine state goes through
// this port, so the context never sees the execution's internals (and the two don't import each
// other).
import type { SystemCallOp } from "../model/events.js";
import type { KvEntry } from "../model/kv.js";
import type { BreadcrumbType, Decision, DecisionBody } from "./decisions.js";
import type { DurableFuture } from "./future.js";

export type TraceLevel = "info" | "warn" | "error" | "debug";

export interface ContextHost {
  readonly instance: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;
  /** True while the code is re-running decisions already in history. */
  readonly isReplaying: boolean;
  /** Record a decision the code just made; returns it (bound to its history event on replay). */
  decide(body: DecisionBody, future?: DurableFuture<unknown>): Decision;
  /** Hook up cancellation of a schedule-backed future (a breadcrumb keeps positions stable). */
  cancelFuture(d: Decision, breadcrumb: BreadcrumbType | null): void;
  /** Deliver the next event (wait) or queue message (queue) named `name` to `future`. */
  subscribe(kind: "wait" | "queue", name: string, future: DurableFuture<unknown>): void;
  /** Something settled outside the engine's own delivery: drain again before the turn ends. */
  markDirty(): void;
  requestContinueAsNew(input: string, version: string | null): void;
  setCustomStatus(status: string | null): void;
  getCustomStatus(): string | null;
  kvSet(key: string, value: string): void;
  kvClear(key: string): void;
  kvClearAll(): void;
  kv(): ReadonlyMap<string, KvEntry>;
  /** Replay-silent trace line. */
  trace(level: TraceLevel, message: string): void;
  systemCall(op: SystemCallOp, future: DurableFuture<unknown>): void;
  /** `ctx.patched` (records a marker on first reach) / `ctx.deprecatePatch` (never records). */
  patch(patchId: string, mode: "patched" | "deprecated"): boolean;
}
