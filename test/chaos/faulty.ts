// Fault injection for chaos tests: a Provider that forwards every call to a real provider (a SQLite
// file or a PostgreSQL schema) and, driven by a seeded PRNG, makes calls fail before they reach the
// store, fail AFTER the store committed them (the caller believes the write failed), arrive late,
// or lose their in-process notifications. `kill()` models a process dying: nothing it calls reaches
// the store any more, while calls already inside the store finish there.
//
// A shared Journal watches the activity contract from outside the runtime: which activity attempts
// started (activities call `journal.started`) and which completions the store really committed
// (observed here, after the real `ackWorkItem` returned). An attempt that starts after its
// activity's completion was committed is a re-run of completed work: the promise is broken.
import { ProviderError } from "../../src/model/errors.js";
import type { ActivityIdentity, WorkItem } from "../../src/model/workItems.js";
import type {
  CompletionTurn,
  EnqueueOptions,
  FetchOrchestrationOptions,
  FetchWorkOptions,
  NotificationListener,
  OrchestrationAck,
  AckResult,
  OrchestrationItem,
  Provider,
  StoredStatus,
  WorkAckOptions,
  WorkAckResult,
  WorkItemLease,
  WorkTurnAckResult,
} from "../../src/providers/provider.js";
import type { HistoryEvent } from "../../src/model/events.js";
import type { ProviderAdmin } from "../../src/providers/admin.js";

/** mulberry32: small, fast, good enough to drive fault decisions reproducibly. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** A derived generator (for another node), so nodes do not share one stream. */
  fork(salt: number): Rng {
    return new Rng((Math.floor(this.next() * 0xffffffff) ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

export interface FaultRates {
  /** Throw a retryable ProviderError before calling through. */
  before: number;
  /** Call through, then throw a retryable ProviderError although the call succeeded. */
  after: number;
  /** Delay the call by up to `maxDelayMs` (rarely by `longDelayMs`, past lock timeouts). */
  delay: number;
  maxDelayMs: number;
  longDelay: number;
  longDelayMs: number;
  /** Drop an in-process notification. */
  dropNotification: number;
  /** The store did the call but its answer reaches the caller late (up to `longDelayMs`). */
  slowAnswer: number;
}

export const DEFAULT_RATES: FaultRates = {
  before: 0.04,
  after: 0.04,
  delay: 0.15,
  maxDelayMs: 40,
  longDelay: 0.004,
  longDelayMs: 700,
  dropNotification: 0.3,
  slowAnswer: 0.004,
};

export const NO_FAULTS: FaultRates = { before: 0, after: 0, delay: 0, maxDelayMs: 0, longDelay: 0, longDelayMs: 0, dropNotification: 0, slowAnswer: 0 };

/** Operations faults may hit (writes and queue operations; plain reads go straight through). */
export type FaultyOp =
  | "fetchOrchestrationItem"
  | "ackOrchestrationItem"
  | "abandonOrchestrationItem"
  | "renewOrchestrationItemLock"
  | "enqueueForOrchestrator"
  | "createInstance"
  | "enqueueForWorker"
  | "fetchWorkItem"
  | "fetchOrchestrationItems"
  | "fetchWorkItems"
  | "ackWorkItem"
  | "renewWorkItemLock"
  | "abandonWorkItem"
  | "isActivityPending"
  | "renewSessionLocks";

export const activityKey = (instance: string, executionId: number, activityId: number): string => `${instance}#${executionId}:${activityId}`;

export class Journal {
  #seq = 0;
  /** Activity key -> sequence numbers of attempts that started. */
  readonly starts = new Map<string, number[]>();
  /** Activity key -> sequence number at which its completion was committed. */
  readonly committed = new Map<string, { seq: number; completion: WorkItem }>();
  readonly violations: string[] = [];
  /** Instances whose StartOrchestration a committed orchestration turn sent (children, detached starts). */
  readonly startsSent = new Set<string>();
  readonly faults = new Map<string, number>();

  /** Per activity key: what happened to it, in order (for the violation report). */
  readonly trace = new Map<string, string[]>();
  #t0 = Date.now();

  note(key: string, what: string): void {
    const line = `+${Date.now() - this.#t0}ms ${what}`;
    const xs = this.trace.get(key);
    if (xs) xs.push(line);
    else this.trace.set(key, [line]);
  }

  started(instance: string, executionId: number, activityId: number, by = "?"): void {
    const key = activityKey(instance, executionId, activityId);
    const seq = ++this.#seq;
    this.note(key, `handler started on ${by}`);
    const c = this.committed.get(key);
    if (c)
      this.violations.push(
        `activity ${key} started again (attempt ${this.starts.get(key)?.length ?? 0} + 1) after its completion was committed:\n    ${this.trace.get(key)!.join("\n    ")}`,
      );
    const xs = this.starts.get(key);
    if (xs) xs.push(seq);
    else this.starts.set(key, [seq]);
  }

  completionCommitted(completion: WorkItem): void {
    if (completion.type !== "ActivityCompleted" && completion.type !== "ActivityFailed") return;
    const key = activityKey(completion.instance, completion.executionId, completion.id);
    if (this.committed.has(key)) this.violations.push(`a second completion of activity ${key} was committed`);
    else this.committed.set(key, { seq: ++this.#seq, completion });
  }

  fault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
  }

  summary(): string {
    const f = [...this.faults.entries()].sort().map(([k, v]) => `${k}=${v}`).join(" ");
    let reruns = 0;
    for (const xs of this.starts.values()) reruns += Math.max(0, xs.length - 1);
    return `${this.starts.size} activities, ${reruns} unrecorded attempts re-run; faults: ${f}`;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FaultyProvider implements Provider {
  readonly name: string;
  readonly notifiesAcrossProcesses?: boolean;
  #dead = false;
  #enabled = true;

  constructor(
    readonly inner: Provider,
    readonly rng: Rng,
    readonly rates: FaultRates,
    readonly journal: Journal,
    readonly label = "node",
  ) {
    this.name = `faulty(${inner.name})`;
    if (inner.ackWorkItemWithTurn) this.ackWorkItemWithTurn = (t, c, turn, o) => this.#ackWorkItemWithTurn(t, c, turn, o);
    if (inner.createInstanceWithTurn) {
      const withTurn = inner.createInstanceWithTurn.bind(inner);
      this.createInstanceWithTurn = (item, turn) =>
        this.#call(
          "createInstance",
          () => withTurn(item, turn),
          (r) => {
            if (r.applied) for (const w of turn.ack.orchestratorItems) if (w.type === "StartOrchestration") this.journal.startsSent.add(w.instance);
          },
        );
    }
    if (inner.notifiesAcrossProcesses !== undefined) this.notifiesAcrossProcesses = inner.notifiesAcrossProcesses;
    // Batch fetches (faults hit the call as a whole) where the store has them.
    if (inner.fetchOrchestrationItems) {
      const many = inner.fetchOrchestrationItems.bind(inner);
      this.fetchOrchestrationItems = (max, lockTimeoutMs, options) => this.#call("fetchOrchestrationItems", () => many(max, lockTimeoutMs, options));
    }
    if (inner.fetchWorkItems) {
      const many = inner.fetchWorkItems.bind(inner);
      this.fetchWorkItems = (max, lockTimeoutMs, options) =>
        this.#call(
          "fetchWorkItems",
          () => many(max, lockTimeoutMs, options),
          (leases) => {
            for (const lease of leases) this.#granted(lease);
          },
        ).then((leases) => {
          for (const lease of leases) this.#delivered(lease);
          return leases;
        });
    }
  }

  readonly fetchOrchestrationItems?: Provider["fetchOrchestrationItems"];
  readonly fetchWorkItems?: Provider["fetchWorkItems"];

  get admin(): ProviderAdmin | undefined {
    return this.inner.admin;
  }

  /** Add a line to the trace of every activity this node holds or held a lease on. */
  noteAll(what: string): void {
    for (const key of new Set(this.#leases.values())) this.journal.note(key, `${this.label} ${what}`);
  }

  /** The process died: from now on no call reaches the store. */
  kill(): void {
    if (!this.#dead) for (const key of new Set(this.#leases.values())) this.journal.note(key, `${this.label} killed`);
    this.#dead = true;
  }
  get dead(): boolean {
    return this.#dead;
  }
  /** Stop injecting faults (calls still go through; a killed provider stays dead). */
  calm(): void {
    this.#enabled = false;
  }

  async #call<T>(op: FaultyOp, fn: () => Promise<T>, after?: (r: T) => void, sent?: () => void): Promise<T> {
    if (this.#dead) throw new ProviderError(op, `${this.label} was killed`, false);
    const r = this.rates;
    if (this.#enabled) {
      if (this.rng.chance(r.delay)) await sleep(this.rng.int(0, r.maxDelayMs));
      if (this.rng.chance(r.longDelay)) {
        this.journal.fault(`longDelay:${op}`);
        await sleep(r.longDelayMs);
      }
      if (this.#dead) throw new ProviderError(op, `${this.label} was killed`, false);
      if (this.rng.chance(r.before)) {
        this.journal.fault(`before:${op}`);
        throw new ProviderError(op, "injected fault before the call", true);
      }
    }
    sent?.();
    const result = await fn();
    // The store did it: record what matters to the checks before the caller hears anything.
    after?.(result);
    if (this.#enabled && this.rng.chance(r.slowAnswer)) {
      this.journal.fault(`slowAnswer:${op}`);
      await sleep(this.rng.int(r.longDelayMs / 2, r.longDelayMs));
    }
    if (this.#dead) throw new ProviderError(op, `${this.label} was killed (after the store committed)`, false);
    if (this.#enabled && this.rng.chance(r.after)) {
      this.journal.fault(`after:${op}`);
      throw new ProviderError(op, "injected fault after the call committed", true);
    }
    return result;
  }

  // ---- orchestrator queue
  fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null> {
    return this.#call("fetchOrchestrationItem", () => this.inner.fetchOrchestrationItem(lockTimeoutMs, options));
  }
  ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult | void> {
    return this.#call(
      "ackOrchestrationItem",
      () => this.inner.ackOrchestrationItem(lockToken, ack),
      () => {
        for (const w of ack.orchestratorItems) if (w.type === "StartOrchestration") this.journal.startsSent.add(w.instance);
      },
    );
  }
  abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    return this.#call("abandonOrchestrationItem", () => this.inner.abandonOrchestrationItem(lockToken, delayMs, ignoreAttempt));
  }
  renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void> {
    return this.#call("renewOrchestrationItemLock", () => this.inner.renewOrchestrationItemLock(lockToken, extendMs));
  }
  enqueueForOrchestrator(item: WorkItem, options?: EnqueueOptions): Promise<void> {
    return this.#call("enqueueForOrchestrator", () => this.inner.enqueueForOrchestrator(item, options));
  }
  createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    return this.#call("createInstance", () => this.inner.createInstance(item));
  }
  /** Present when the store has it: a start stored with its first turn (faults hit it as they hit createInstance). */
  readonly createInstanceWithTurn?: Provider["createInstanceWithTurn"];

  // ---- worker queue
  enqueueForWorker(item: WorkItem): Promise<void> {
    return this.#call("enqueueForWorker", () => this.inner.enqueueForWorker(item));
  }
  fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    return this.#call(
      "fetchWorkItem",
      () => this.inner.fetchWorkItem(lockTimeoutMs, options),
      (lease) => {
        if (lease) this.#granted(lease);
      },
    ).then((lease) => {
      if (lease) this.#delivered(lease);
      return lease;
    });
  }
  #granted(lease: WorkItemLease): void {
    const key = activityKey(lease.item.instance, lease.item.executionId, lease.item.id);
    this.#leases.set(lease.lockToken, key);
    this.journal.note(key, `${this.label} granted lease ${lease.lockToken.slice(0, 6)} (attempt ${lease.attemptCount})`);
  }
  #delivered(lease: WorkItemLease): void {
    this.journal.note(activityKey(lease.item.instance, lease.item.executionId, lease.item.id), `${this.label} lease ${lease.lockToken.slice(0, 6)} delivered to the runtime`);
  }
  #leases = new Map<string, string>();
  #sent(token: string, op: string): () => void {
    return () => {
      const key = this.#leases.get(token);
      if (key) this.journal.note(key, `${this.label} ${op} ${token.slice(0, 6)} sent to the store`);
    };
  }
  #traced<T>(token: string, op: string, p: Promise<T>): Promise<T> {
    const key = this.#leases.get(token);
    if (!key) return p;
    return p.then(
      (v) => (this.journal.note(key, `${this.label} ${op} ${token.slice(0, 6)} ok`), v),
      (e: unknown) => {
        this.journal.note(key, `${this.label} ${op} ${token.slice(0, 6)} threw ${String(e)}`);
        throw e;
      },
    );
  }
  ackWorkItem(lockToken: string, completion: WorkItem | null, options?: WorkAckOptions): Promise<WorkAckResult | void> {
    return this.#traced(
      lockToken,
      `ack(${completion?.type ?? "null"})`,
      this.#call(
        "ackWorkItem",
        () => this.inner.ackWorkItem(lockToken, completion, options),
        () => {
          const key = this.#leases.get(lockToken);
          if (key) this.journal.note(key, `${this.label} ack committed in store`);
          if (completion) this.journal.completionCommitted(completion);
        },
        this.#sent(lockToken, "ack"),
      ),
    );
  }
  /** Present when the store has it: the completion is committed by it either way (with its turn, or queued). */
  readonly ackWorkItemWithTurn?: Provider["ackWorkItemWithTurn"];
  #ackWorkItemWithTurn(lockToken: string, completion: WorkItem, turn: CompletionTurn, options?: WorkAckOptions): Promise<WorkTurnAckResult> {
    return this.#traced(
      lockToken,
      `ack(${completion.type}, with turn)`,
      this.#call(
        "ackWorkItem",
        () => this.inner.ackWorkItemWithTurn!(lockToken, completion, turn, options),
        (r) => {
          const key = this.#leases.get(lockToken);
          if (key) this.journal.note(key, `${this.label} ack committed in store${r.applied ? " with its turn" : ""}`);
          this.journal.completionCommitted(completion);
          if (r.applied) for (const w of turn.ack.orchestratorItems) if (w.type === "StartOrchestration") this.journal.startsSent.add(w.instance);
        },
        this.#sent(lockToken, "ack"),
      ),
    );
  }
  renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void> {
    return this.#traced(lockToken, "renew", this.#call("renewWorkItemLock", () => this.inner.renewWorkItemLock(lockToken, extendMs, heartbeatDetails), undefined, this.#sent(lockToken, "renew")));
  }
  abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    return this.#traced(lockToken, "abandon", this.#call("abandonWorkItem", () => this.inner.abandonWorkItem(lockToken, delayMs, ignoreAttempt), undefined, this.#sent(lockToken, "abandon")));
  }
  isActivityPending(id: ActivityIdentity): Promise<boolean> {
    return this.#call("isActivityPending", () => this.inner.isActivityPending(id));
  }

  // ---- sessions
  renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    return this.#call("renewSessionLocks", () => this.inner.renewSessionLocks(ownerIds, extendMs, idleTimeoutMs));
  }
  cleanupOrphanedSessions(idleTimeoutMs: number): Promise<number> {
    return this.inner.cleanupOrphanedSessions(idleTimeoutMs);
  }

  // ---- reads (no faults)
  read(instance: string): Promise<HistoryEvent[]> {
    return this.inner.read(instance);
  }
  readExecution(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.inner.readExecution(instance, executionId);
  }
  getStatus(instance: string): Promise<StoredStatus | null> {
    return this.inner.getStatus(instance);
  }
  getKvValue(instance: string, key: string): Promise<string | null> {
    return this.inner.getKvValue(instance, key);
  }
  getKvAllValues(instance: string): Promise<Record<string, string>> {
    return this.inner.getKvAllValues(instance);
  }

  // ---- lifecycle
  subscribe(listener: NotificationListener): () => void {
    return this.inner.subscribe((n) => {
      if (this.#dead) return;
      if (this.#enabled && this.rng.chance(this.rates.dropNotification)) {
        this.journal.fault(`drop:${n.kind}`);
        return;
      }
      listener(n);
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
