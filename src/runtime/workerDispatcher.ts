// Worker dispatcher: fetch an activity, run its handler with an ActivityContext, ack the result.
// Cancellation (the orchestration ended, or the activity lost a race) reaches the handler through
// its AbortSignal: at once by in-process notification, else by a short poll or a failed renewal.
import type { CompletionTurn, OrchestrationItem, Provider, TagFilter, WorkAckOptions, WorkAckResult, WorkItemLease, WorkTurnAckResult } from "../providers/provider.js";
import { ErrorDetails, HeartbeatTimeoutError, ProviderError, identityOfThrown } from "../model/errors.js";
import { decodeJson, encodeJson } from "../model/json.js";
import { activityKey, type ActivityExecuteItem, type ActivityIdentity, type WorkItem } from "../model/workItems.js";
import type { Logger } from "../observability/logger.js";
import type { RuntimeMetrics } from "../observability/metrics.js";
import type { ActivityOutcome, ActivityTelemetry, TelemetryHooks } from "../observability/hooks.js";
import { ActivityContext } from "../activity/context.js";
import type { Client } from "../client/client.js";
import type { ActivityHandler, ActivityRegistry } from "./registry.js";
import { GET_KV_VALUE_SYSCALL } from "../orchestration/context.js";
import type { ResolvedOptions } from "./options.js";
import { WakeSignal } from "./signal.js";
import { Slots } from "./slots.js";
import { Heartbeats } from "./heartbeats.js";
import { dispatchItem, idlePollMs, runFetchLoop, type FetchLoop } from "./fetchLoop.js";
import { retryWithinLease, unregisteredBackoffMs, unregisteredRetrySpanMs } from "./retrying.js";
import { errorMessage } from "../orchestration/execution.js";

/** What the worker needs of this process's orchestrator to hand it a completion's instance without a fetch. */
export interface LocalOrchestrator {
  /** Reserves a turn slot for the instance an ack may lock (false: none free). */
  reserveTurn(): boolean;
  unreserveTurn(): void;
  lockInstanceOptions(): NonNullable<WorkAckOptions["lockInstance"]>;
  /** Runs the turn in the reserved slot; `askedAtMs` is when the ack that locked it was sent. */
  runHandedOver(item: OrchestrationItem, askedAtMs: number): void;
  /**
   * In the reserved slot: runs the turn the completion causes ahead of the ack, when the
   * completion's execution is held here (null: not run; ack as usual).
   */
  completionTurn(completion: WorkItem): Promise<SpeculativeTurn | null>;
}

/** A turn run for a completion ahead of its worker ack (`Provider.ackWorkItemWithTurn`); settled once. */
export interface SpeculativeTurn {
  readonly turn: CompletionTurn;
  /** The store applied it with the ack: it is finished as an acked turn is (its leases run here). */
  stored(leases: readonly WorkItemLease[], askedAt: number, askedAtMs: number): void;
  /** Not applied (refused, or the ack failed): it is dropped, as a turn whose ack failed. */
  dropped(): void;
}

export interface WorkerDeps {
  provider: Provider;
  registry: ActivityRegistry;
  options: ResolvedOptions;
  logger: Logger;
  metrics: RuntimeMetrics;
  runtimeId: string;
  client: () => Client;
  telemetry?: TelemetryHooks | undefined;
  /** This process's orchestrator: a completion's instance is handed to it by the worker ack itself. */
  localOrchestrator?: () => LocalOrchestrator | null;
}

interface Running {
  identity: ActivityIdentity;
  abort: ActivityCancellation;
  sessionId: string | null;
  /**
   * Why the signal fired, first reason wins: the activity was withdrawn (or its lock lost), or this
   * runtime is shutting down. Only a withdrawal makes the result unwanted; a shutdown must leave
   * the work item to be completed (if the handler still returns a value) or run elsewhere.
   */
  cancel: (reason: "withdrawn" | "shutdown" | "lost") => void;
  reason: "withdrawn" | "shutdown" | "lost" | null;
}

/**
 * An activity's cancellation signal, made only when something asks for it (the handler reads
 * `ctx.signal`, or the activity is cancelled): most activities never do, and an AbortController
 * with its signal is a good part of what running one costs.
 */
class ActivityCancellation {
  #controller: AbortController | undefined;
  #aborted = false;
  /** Told once, at the first abort (the worker's grace period starts then). */
  onAbort: (() => void) | undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort();
    this.onAbort?.();
  }
}

/** Whether a worker with this tag filter fetches an item with this tag (null: no tag). */
function tagAccepted(filter: TagFilter, tag: string | null): boolean {
  switch (filter.kind) {
    case "defaultOnly":
      return tag === null;
    case "tags":
      return tag !== null && filter.tags.includes(tag);
    case "defaultAnd":
      return tag === null || filter.tags.includes(tag);
    case "any":
      return true;
    case "none":
      return false;
  }
}

export class WorkerDispatcher {
  readonly wake = new WakeSignal();
  #running = false;
  #loops: Promise<void>[] = [];
  #active = new Map<string, Running>();
  #sessionOwners = new Set<string>();
  #slots: Slots;
  #sessionTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: WorkerDeps) {
    this.#slots = new Slots(d.options.workerConcurrency);
  }

  get inFlight(): number {
    return this.#active.size;
  }

  /** Activities running here for longer than slowActivityWarningMs (the duroxide_activities_stuck gauge). */
  #stuck = 0;

  #setStuck(delta: number): void {
    this.#stuck += delta;
    this.d.metrics.activitiesStuck(this.#stuck, this.d.runtimeId);
  }

  /** Distinct sessions with an activity running here (bounded by maxSessionsPerRuntime). */
  get activeSessions(): number {
    return this.#sessionCounts.size;
  }

  #sessionCounts = new Map<string, number>();
  /** Activities of each instance admitted here and not done (running or acking). */
  #perInstance = new Map<string, number>();
  /** When each lease was asked for: its lock was taken no earlier, so it holds at least until then + lock timeout. */
  #askedAt = new WeakMap<WorkItemLease, number>();
  /** Until when (Date.now() ms) each lease's lock surely holds: asked-for time of the last fetch or renewal + lock timeout. */
  #leaseUntil = new WeakMap<WorkItemLease, number>();

  #holdSession(sessionId: string): void {
    this.#sessionCounts.set(sessionId, (this.#sessionCounts.get(sessionId) ?? 0) + 1);
  }
  #releaseSession(sessionId: string): void {
    const n = (this.#sessionCounts.get(sessionId) ?? 1) - 1;
    if (n <= 0) this.#sessionCounts.delete(sessionId);
    else this.#sessionCounts.set(sessionId, n);
  }

  /** Runtime-internal activities (reserved `__duroxide_syscall:` names). */
  #systemHandler(name: string): ActivityHandler | null {
    if (name === GET_KV_VALUE_SYSCALL) {
      return async (_ctx, input: { instanceId?: unknown; key?: unknown }) => {
        if (typeof input?.instanceId !== "string" || typeof input.key !== "string")
          throw new Error(`${GET_KV_VALUE_SYSCALL} needs { instanceId, key } strings`);
        return this.d.provider.getKvValue(input.instanceId, input.key);
      };
    }
    return null;
  }

  start(): void {
    if (this.d.options.tagFilter.kind === "none") return; // orchestrator-only node
    this.#running = true;
    this.#setStuck(0); // the gauge reads 0 from the start, not only after the first stuck activity
    const workerId = `work-${this.d.options.workerNodeId ?? this.d.runtimeId}`;
    this.#sessionOwners.add(this.d.options.workerNodeId ?? workerId);
    this.#loops.push(this.#loop(workerId));
    const every = Math.max(100, Math.floor(this.d.options.sessionLockTimeoutMs / 2));
    this.#sessionTimer = setInterval(() => {
      this.d.provider
        .renewSessionLocks([...this.#sessionOwners], this.d.options.sessionLockTimeoutMs, this.d.options.sessionIdleTimeoutMs)
        .catch(() => this.d.metrics.lockRenewalFailed("session"));
    }, every);
    this.#sessionTimer.unref();
  }

  /** Withdrawn activities: signal their running copies now. */
  onCancelled(ids: ActivityIdentity[]): void {
    for (const id of ids) this.#active.get(activityKey(id))?.cancel("withdrawn");
  }

  /** Stop fetching; wait up to `graceMs` for running activities, then signal them. */
  async stop(graceMs: number): Promise<void> {
    this.#running = false;
    this.wake.notifyAll();
    if (this.#sessionTimer) clearInterval(this.#sessionTimer);
    const all = Promise.all(this.#loops);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
      timer.unref();
    });
    const timedOut = await Promise.race([all.then(() => false), grace]);
    clearTimeout(timer);
    if (timedOut) {
      for (const r of this.#active.values()) r.cancel("shutdown");
      await Promise.race([all, new Promise<void>((r) => setTimeout(r, 100).unref())]);
    }
    this.#loops = [];
  }

  /** The fetch loop's configuration, kept so that activities handed over by an ack run the same way. */
  #loopConfig: FetchLoop<WorkItemLease> | null = null;

  /**
   * Reserves up to `n` slots for activities an orchestrator ack will lease to this process
   * (`OrchestrationAck.leaseWorkerItems`); give back what is not used with `unreserve`.
   */
  reserve(n: number): number {
    return this.#running && this.#loopConfig !== null ? this.#slots.tryAcquire(n) : 0;
  }

  unreserve(n: number): void {
    for (let i = 0; i < n; i++) this.#slots.release();
  }

  /**
   * Whether an item may be leased to this worker straight from the ack: it is one this worker
   * would fetch (tag filter) and needs no fetch-time rule (no session to claim, no heartbeat lease).
   */
  accepts(item: ActivityExecuteItem): boolean {
    if (item.sessionId != null || item.heartbeatTimeoutMs !== undefined) return false;
    return tagAccepted(this.d.options.tagFilter, item.tag ?? null);
  }

  /**
   * Runs activities leased to this process by an ack, each in a slot reserved for it. `askedAt`
   * (performance.now()) and `askedAtMs` (Date.now()) are when that ack was sent: the leases' locks
   * were taken no earlier, so a late answer is caught like a late fetch (see #leaseStillHeld).
   */
  runLeased(leases: readonly WorkItemLease[], askedAt: number, askedAtMs: number): void {
    const loop = this.#loopConfig;
    for (const lease of leases) {
      if (loop === null || !this.#running) {
        // Stopped meanwhile: give the item back to the queue at once.
        this.#slots.release();
        void this.d.provider.abandonWorkItem(lease.lockToken, 0, true).catch(() => undefined);
        continue;
      }
      this.#track(lease, askedAt, askedAtMs);
      void dispatchItem(loop, lease);
    }
  }

  /** Records when a lease was asked for (its lock holds at least until then + its lock timeout). */
  #track(lease: WorkItemLease, askedAt: number, askedAtMs: number): void {
    this.#askedAt.set(lease, askedAt);
    // A heartbeating item is leased for its heartbeat timeout (see fetchWorkItem).
    this.#leaseUntil.set(lease, askedAtMs + (lease.item.heartbeatTimeoutMs ?? this.d.options.workerLockTimeoutMs));
  }

  /** One fetch loop feeds up to `workerConcurrency` activities at a time. */
  #loop(workerId: string): Promise<void> {
    const { provider, options, metrics, logger } = this.d;
    const loop: FetchLoop<WorkItemLease> = {
      slots: this.#slots,
      wake: this.wake,
      pollIntervalMs: idlePollMs(options.pollIntervalMs, provider.notifiesAcrossProcesses === true, options.workerLockTimeoutMs),
      isRunning: () => this.#running,
      // At session capacity, fetch only items without a session (or of sessions already running here).
      fetch: async () => {
        const askedAt = performance.now();
        const askedAtMs = Date.now();
        const lease = await provider.fetchWorkItem(options.workerLockTimeoutMs, {
          tagFilter: options.tagFilter,
          ...(this.#sessionCounts.size >= options.maxSessions
            ? {}
            : { session: { ownerId: options.workerNodeId ?? workerId, lockTimeoutMs: options.sessionLockTimeoutMs } }),
        });
        if (lease) this.#track(lease, askedAt, askedAtMs);
        return lease;
      },
      // Several items per round trip when the store can (each leased on its own).
      ...(provider.fetchWorkItems !== undefined
        ? {
            fetchMany: async (max: number) => {
              const askedAt = performance.now();
              const askedAtMs = Date.now();
              const room = options.maxSessions - this.#sessionCounts.size;
              // With sessions offered, ask for no more items than session places are left, so the
              // batch never brings more new sessions than a fetch per slot would (each fetch
              // rechecks the capacity); the slots not asked for are released by the loop.
              const leases =
                (await provider.fetchWorkItems?.(room > 0 ? Math.min(max, room) : max, options.workerLockTimeoutMs, {
                  tagFilter: options.tagFilter,
                  ...(room > 0 ? { session: { ownerId: options.workerNodeId ?? workerId, lockTimeoutMs: options.sessionLockTimeoutMs } } : {}),
                })) ?? [];
              for (const lease of leases) this.#track(lease, askedAt, askedAtMs);
              return leases;
            },
          }
        : {}),
      onFetchError: (err) => {
        metrics.providerError("fetch_work_item");
        logger.warn("fetch_work_item failed", { error: String(err), worker_id: workerId });
      },
      admit: async (lease) => {
        metrics.workerItemsFetched(1);
        const sid = lease.item.sessionId ?? null;
        if (sid !== null && !this.#sessionCounts.has(sid) && this.#sessionCounts.size >= options.maxSessions) {
          // Another slot took the last session place meanwhile: put it back without counting an attempt.
          await provider.abandonWorkItem(lease.lockToken, 100, true).catch(() => undefined);
          return false;
        }
        if (sid !== null) this.#holdSession(sid);
        this.#perInstance.set(lease.item.instance, (this.#perInstance.get(lease.item.instance) ?? 0) + 1);
        return true;
      },
      handle: (lease) => this.#execute(lease, workerId),
      onHandleError: async (lease, err) => {
        logger.error("activity dispatch failed unexpectedly", { error: String(err) });
        await provider.abandonWorkItem(lease.lockToken, 100, false).catch(() => undefined);
      },
      done: (lease) => {
        const sid = lease.item.sessionId ?? null;
        if (sid !== null) this.#releaseSession(sid);
        const n = (this.#perInstance.get(lease.item.instance) ?? 1) - 1;
        if (n <= 0) this.#perInstance.delete(lease.item.instance);
        else this.#perInstance.set(lease.item.instance, n);
      },
      drained: (lease) => lease.moreReady === false,
    };
    this.#loopConfig = loop;
    return runFetchLoop(loop);
  }

  async #execute(lease: WorkItemLease, workerId: string): Promise<void> {
    const { provider, options, metrics } = this.d;
    const item = lease.item;
    const identity: ActivityIdentity = { instance: item.instance, executionId: item.executionId, activityId: item.id };
    const heartbeatTimeoutMs = item.heartbeatTimeoutMs ?? null;
    const failure = (message: string, thrown: unknown, attempt: number, lastHeartbeat: string | null): WorkItem => ({
      type: "ActivityFailed",
      instance: item.instance,
      executionId: item.executionId,
      id: item.id,
      details: ErrorDetails.activityFailed(message, false, {
        ...identityOfThrown(thrown),
        activityName: item.name,
        attempt,
        ...(lastHeartbeat !== null ? { lastHeartbeat } : {}),
      }).data,
    });

    if (lease.lapsed === true && heartbeatTimeoutMs !== null && item.failWhenLost === true) {
      // The previous attempt stopped heartbeating (its worker died or hung) and its lease lapsed:
      // report it lost, so the retry policy decides; its holder can no longer record anything.
      const lost = new HeartbeatTimeoutError(item.name, heartbeatTimeoutMs);
      metrics.activityFailed(item.name, "application", 0);
      await this.#ack(lease, failure(lost.message, lost, lease.attemptCount - 1, lease.heartbeatDetails ?? item.heartbeatDetails ?? null));
      return;
    }

    if (lease.attemptCount > options.maxAttempts) {
      const details = ErrorDetails.poison(
        lease.attemptCount,
        options.maxAttempts,
        { kind: "Activity", instance: item.instance, executionId: item.executionId, activityName: item.name, activityId: item.id },
        JSON.stringify(item),
      );
      metrics.activityPoisoned(item.name);
      await this.#ack(lease, { type: "ActivityFailed", instance: item.instance, executionId: item.executionId, id: item.id, details: details.data });
      return;
    }

    const handler = this.d.registry.resolve(item.name) ?? this.#systemHandler(item.name);
    if (!handler) {
      if (lease.attemptCount >= options.maxAttempts) {
        await this.#failUnregistered(lease);
        return;
      }
      const delay = unregisteredBackoffMs(lease.attemptCount);
      this.d.logger.warn("activity is not registered here; will retry (and poison after max attempts)", {
        activity_name: item.name,
        instance_id: item.instance,
        retry_in_ms: delay,
      });
      await provider.abandonWorkItem(lease.lockToken, delay, false);
      return;
    }

    if (!(await this.#leaseStillHeld(lease))) return;

    const abort = new ActivityCancellation();
    const running: Running = {
      identity,
      abort,
      sessionId: item.sessionId ?? null,
      reason: null,
      cancel: (reason) => {
        running.reason ??= reason;
        abort.abort();
      },
    };
    this.#active.set(activityKey(identity), running);
    const tel: ActivityTelemetry | undefined = this.d.telemetry?.activityStarted({
      instanceId: item.instance,
      executionId: item.executionId,
      orchestrationName: item.orchestrationName,
      orchestrationVersion: item.orchestrationVersion,
      activityName: item.name,
      activityId: item.id,
      attempt: lease.attemptCount,
      workerId,
      sessionId: item.sessionId ?? null,
      tag: item.tag ?? null,
      input: item.input,
      parent: item.trace,
    });
    const spanIds = tel?.ids;
    // The activity's logger, made on first use (most activities log nothing).
    let activityLogger: Logger | undefined;
    const logger = (): Logger =>
      (activityLogger ??= this.d.logger.child(
        {
          instance_id: item.instance,
          execution_id: item.executionId,
          orchestration_name: item.orchestrationName,
          orchestration_version: item.orchestrationVersion,
          activity_name: item.name,
          activity_id: item.id,
          worker_id: workerId,
          trace_id: spanIds?.traceId,
          span_id: spanIds?.spanId,
        },
        "duroxide::activity",
      ));
    const resumeFrom = lease.heartbeatDetails ?? item.heartbeatDetails ?? null;
    // Made at the first heartbeat, or at once under a heartbeat timeout (its watchdog runs from the start).
    let heartbeats: Heartbeats | undefined;
    let ended = false;
    const startHeartbeats = (): Heartbeats =>
      (heartbeats ??= new Heartbeats({
        lockMs: heartbeatTimeoutMs ?? options.workerLockTimeoutMs,
        guarded: heartbeatTimeoutMs !== null,
        renew: async (details) => {
          const asked = Date.now();
          const ms = heartbeatTimeoutMs ?? options.workerLockTimeoutMs;
          await provider.renewWorkItemLock(lease.lockToken, ms, details ?? undefined);
          this.#leaseUntil.set(lease, asked + ms);
        },
        onLost: () => running.cancel("lost"),
        onTransientError: (err) => this.d.logger.debug("heartbeat could not be stored; retrying", { error: String(err) }),
        initial: resumeFrom,
      }));
    if (heartbeatTimeoutMs !== null) startHeartbeats();
    const ctx = new ActivityContext(
      {
        instanceId: item.instance,
        executionId: item.executionId,
        orchestrationName: item.orchestrationName,
        orchestrationVersion: item.orchestrationVersion,
        activityName: item.name,
        activityId: item.id,
        workerId,
        sessionId: item.sessionId ?? null,
        tag: item.tag ?? null,
        attempt: lease.attemptCount,
        lastHeartbeat: resumeFrom,
        heartbeatTimeoutMs,
      },
      abort,
      this.d.client,
      logger,
      (details) => {
        // A heartbeat after the attempt ended is ignored, as a stopped Heartbeats ignores it.
        if (!ended) startHeartbeats().beat(details);
      },
    );

    // Keep the lock alive; a lost lock or a withdrawn row means cancellation, a transient error does not.
    // Renew at a third of the lock so one transient failure still leaves time to retry (quickly)
    // before the lock lapses; with a half-lock interval a single failed renewal let the lock expire
    // and another worker run the activity a second time. Under a heartbeat timeout only heartbeats
    // renew the lease: an attempt that stops heartbeating must lose it.
    const renewEvery = Math.max(30, Math.floor(options.workerLockTimeoutMs / 3));
    const retryEvery = Math.max(10, Math.floor(options.workerLockTimeoutMs / 20));
    let renewStopped = heartbeatTimeoutMs !== null;
    let renew: NodeJS.Timeout | undefined;
    const scheduleRenew = (ms: number): void => {
      renew = setTimeout(() => {
        const asked = Date.now();
        provider.renewWorkItemLock(lease.lockToken, options.workerLockTimeoutMs).then(
          () => {
            this.#leaseUntil.set(lease, asked + options.workerLockTimeoutMs);
            if (!renewStopped) scheduleRenew(renewEvery);
          },
          (err: unknown) => {
            this.d.metrics.lockRenewalFailed("activity");
            if (err instanceof ProviderError && !err.retryable) {
              running.cancel("withdrawn"); // lock lost or row withdrawn: a real cancellation
              return;
            }
            this.d.logger.debug("work item lock renewal failed transiently; retrying", { error: String(err) });
            if (!renewStopped) scheduleRenew(retryEvery);
          },
        );
      }, ms);
      renew.unref();
    };
    let poll: NodeJS.Timeout | undefined;
    const pollWithdrawn = (): void => {
      provider
        .isActivityPending(identity)
        .then((pending) => {
          if (!pending) running.cancel("withdrawn");
        })
        .catch(() => undefined);
    };

    const started = Date.now();
    // A stuck activity holds its slot (nothing can pre-empt it): say so, at each doubling of its run time.
    let slowTimer: NodeJS.Timeout | undefined;
    let countedStuck = false;
    const reportSlow = (after: number): void => {
      slowTimer = setTimeout(() => {
        if (!countedStuck) {
          countedStuck = true;
          this.#setStuck(1);
        }
        logger().warn("activity has held its worker slot for a long time and is still running", {
          running_ms: Date.now() - started,
          slots_busy: this.#active.size,
          slots: options.workerConcurrency,
        });
        reportSlow(after * 2);
      }, after);
      slowTimer.unref();
    };
    // The periodic duties (renewal, withdrawal poll, slow report) are armed by one timer at the first
    // one's time, each then at its own time since the start: most activities end before any is due
    // and cost one timer instead of three.
    const slowAfter = options.slowActivityWarningMs > 0 ? options.slowActivityWarningMs : Infinity;
    let watch: NodeJS.Timeout | undefined = setTimeout(
      () => {
        watch = undefined;
        const elapsed = Date.now() - started;
        if (!renewStopped) scheduleRenew(Math.max(0, renewEvery - elapsed));
        const pollIn = Math.max(0, options.cancellationPollMs - elapsed);
        const startPolling = (): void => {
          pollWithdrawn();
          poll = setInterval(pollWithdrawn, options.cancellationPollMs);
          poll.unref();
        };
        if (pollIn === 0) startPolling();
        else {
          poll = setTimeout(startPolling, pollIn);
          poll.unref();
        }
        if (slowAfter !== Infinity) reportSlow(Math.max(0, slowAfter - elapsed));
      },
      Math.min(renewStopped ? Infinity : renewEvery, options.cancellationPollMs, slowAfter),
    );
    watch.unref();
    const activityLog = this.d.logger.isEnabled("debug", "duroxide::runtime") ? logger() : null;
    if (activityLog !== null) activityLog.log("debug", "duroxide::runtime", "Activity started", { activity_tag: item.tag ?? null });
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      // The handler's outcome, or "cancelled" once the grace period after a cancellation is over.
      const r = await new Promise<typeof outcome | "cancelled">((resolve) => {
        abort.onAbort = () => setTimeout(() => resolve("cancelled"), options.cancellationGraceMs).unref();
        Promise.resolve()
          .then(() => (tel ? tel.run(() => handler(ctx, decodeJson(item.input))) : handler(ctx, decodeJson(item.input))))
          .then(
            (value) => resolve({ ok: true, value }),
            (error: unknown) => resolve({ ok: false, error }),
          );
      });
      if (r === "cancelled") {
        outcome = { ok: false, error: new Error("cancelled") };
      } else outcome = r;
    } finally {
      renewStopped = true;
      ended = true;
      clearTimeout(watch);
      clearTimeout(renew);
      clearTimeout(poll);
      clearTimeout(slowTimer);
      if (countedStuck) this.#setStuck(-1);
      heartbeats?.stop();
      this.#active.delete(activityKey(identity));
    }
    const duration = Date.now() - started;
    const end = (o: ActivityOutcome): void => tel?.end(o);

    if (running.reason === "lost") {
      // Heartbeats stopped or the lease moved on: this attempt no longer owns the item (another
      // delivery reports or reruns it), so whatever it produced is dropped, never recorded.
      metrics.activityCancelled(item.name, duration);
      end({ outcome: "abandoned", reason: "lease lost (heartbeat timeout): another delivery reports or reruns it" });
      this.d.logger.debug("activity attempt lost its lease (heartbeat timeout); result dropped", { activity_id: item.id });
      return;
    }
    if (running.reason === "withdrawn") {
      // Withdrawn or its orchestration ended: the result is not wanted. Remove the row if still ours.
      metrics.activityCancelled(item.name, duration);
      end({ outcome: "cancelled" });
      await provider.ackWorkItem(lease.lockToken, null).catch(() => undefined);
      return;
    }
    if (running.reason === "shutdown" && !outcome.ok) {
      // This runtime stopped and the attempt did not finish (it gave up on the signal, failed, or
      // outlived the grace period): nothing was decided, so hand the item back for another runtime
      // instead of recording a failure the shutdown caused. A value it did return is recorded below.
      end({ outcome: "abandoned", reason: "runtime shutting down" });
      await provider.abandonWorkItem(lease.lockToken, 0, true).catch(() => undefined);
      return;
    }
    // The last heartbeat is flushed with the result: a retry resumes from it.
    const lastHeartbeat = heartbeats?.latest ?? resumeFrom;
    let completion: WorkItem;
    if (outcome.ok) {
      let result: string;
      try {
        result = encodeJson(outcome.value, `result of activity '${item.name}'`);
        completion = { type: "ActivityCompleted", instance: item.instance, executionId: item.executionId, id: item.id, result };
        metrics.activitySucceeded(item.name, duration, item.tag ? { tag: item.tag } : {});
      } catch (err) {
        completion = failure(errorMessage(err), err, lease.attemptCount, lastHeartbeat);
        metrics.activityFailed(item.name, "application", duration);
      }
    } else {
      completion = failure(errorMessage(outcome.error), outcome.error, lease.attemptCount, lastHeartbeat);
      metrics.activityFailed(item.name, "application", duration);
    }
    if (completion.type === "ActivityCompleted") {
      if (this.d.logger.isEnabled("debug", "duroxide::runtime"))
        logger().log("debug", "duroxide::runtime", "Activity completed", {
          outcome: "success",
          duration_ms: duration,
          result_size: completion.result.length,
        });
    } else if (completion.type === "ActivityFailed" && this.d.logger.isEnabled("info", "duroxide::runtime")) {
      // An expected outcome (the orchestration decides what to do), so info, not warn.
      logger().log("info", "duroxide::runtime", "Activity failed (application error)", {
        outcome: "app_error",
        duration_ms: duration,
        error: completion.details.message ?? null,
      });
    }
    if (tel) {
      if (completion.type === "ActivityCompleted") end({ outcome: "success", result: completion.result });
      else if (completion.type === "ActivityFailed")
        end({
          outcome: "failed",
          category: "application",
          message: completion.details.message ?? "",
          ...(!outcome.ok && outcome.error instanceof Error ? { errorName: outcome.error.name } : {}),
        });
    }
    await this.#ack(lease, completion);
  }

  /**
   * The last allowed fetch found no handler either: the activity fails (the orchestration sees a
   * poison error) saying no runtime that fetched it had it, and for how long it was tried: from its
   * ActivityScheduled event, or the retry schedule's sum when history cannot be read.
   */
  async #failUnregistered(lease: WorkItemLease): Promise<void> {
    const { provider, options, metrics, logger } = this.d;
    const item = lease.item;
    const scheduled = await provider
      .readExecution(item.instance, item.executionId)
      .then((h) => h.find((e) => e.eventId === item.id)?.timestampMs)
      .catch(() => undefined);
    const notRegistered =
      scheduled !== undefined
        ? { name: item.name, triedForMs: Math.max(0, options.clock.now() - scheduled) }
        : { name: item.name, triedForMs: unregisteredRetrySpanMs(lease.attemptCount), atLeast: true };
    const details = ErrorDetails.poison(
      lease.attemptCount,
      options.maxAttempts,
      { kind: "Activity", instance: item.instance, executionId: item.executionId, activityName: item.name, activityId: item.id },
      JSON.stringify(item),
      notRegistered,
    );
    metrics.activityPoisoned(item.name);
    logger.error("activity is not registered on any runtime that fetched it; failing it", {
      activity_name: item.name,
      instance_id: item.instance,
      error: details.displayMessage(),
    });
    await this.#ack(lease, { type: "ActivityFailed", instance: item.instance, executionId: item.executionId, id: item.id, details: details.data });
  }

  /**
   * A lease may reach us late (a slow answer, a GC pause): its lock may have lapsed and another
   * worker may have run the activity and recorded its completion already. Running it then would run
   * completed work again, so a lease older than a third of the lock (the first renewal comes a third
   * of a lock after the start) is renewed before the handler starts; one that cannot be renewed is
   * not run.
   */
  async #leaseStillHeld(lease: WorkItemLease): Promise<boolean> {
    const { provider, options } = this.d;
    const askedAt = this.#askedAt.get(lease);
    const leaseMs = lease.item.heartbeatTimeoutMs ?? options.workerLockTimeoutMs;
    if (askedAt === undefined || performance.now() - askedAt < leaseMs / 3) return true;
    try {
      const asked = Date.now();
      await provider.renewWorkItemLock(lease.lockToken, leaseMs);
      // The renewal holds from when the store ran it, which may have been as early as `asked`. An
      // answer that arrives after two thirds of that lock proves too little: the lock may lapse (or
      // have lapsed, and the item run and completed elsewhere) before the first renewal of the run.
      if (Date.now() - asked >= (leaseMs * 2) / 3) {
        this.d.logger.debug("late activity lease renewed too late to trust; not running it", { activity_id: lease.item.id });
        await provider.abandonWorkItem(lease.lockToken, 0, true).catch(() => undefined);
        return false;
      }
      this.#leaseUntil.set(lease, asked + leaseMs);
      return true;
    } catch (err) {
      this.d.logger.debug("late activity lease could not be renewed; not running it", { error: String(err), activity_id: lease.item.id });
      // A lock we may still hold goes back at once; a lost one is someone else's now.
      if (!(err instanceof ProviderError && !err.retryable))
        await provider.abandonWorkItem(lease.lockToken, 0, true).catch(() => undefined);
      return false;
    }
  }

  /**
   * Records the result. Transient store failures are retried for as long as the lock holds (a
   * PostgreSQL restart takes seconds): a result computed during an outage is committed when the
   * store is back. Only once the lock has lapsed is it given up on, loudly: the activity will run
   * again on whichever worker takes the item next.
   */
  async #ack(lease: WorkItemLease, completion: WorkItem): Promise<void> {
    const { provider, logger, metrics } = this.d;
    const until = () => this.#leaseUntil.get(lease) ?? 0;
    // The completion's instance goes to this process's orchestrator when the ack can lock it (a
    // turn slot reserved now): the next turn runs without a fetch and wakes no one.
    const orch = this.d.localOrchestrator?.() ?? null;
    const handOff = orch !== null && orch.reserveTurn() ? orch : null;
    // Better still, when the orchestrator holds the instance's execution, it runs that turn now and
    // the store commits it with this ack. Not while another activity of the instance is finishing
    // here: its completion would be queued first and the store would refuse this turn.
    const withTurn = provider.ackWorkItemWithTurn?.bind(provider);
    const speculative =
      handOff !== null && withTurn !== undefined && (this.#perInstance.get(lease.item.instance) ?? 0) <= 1
        ? await handOff.completionTurn(completion)
        : null;
    const options: WorkAckOptions | undefined = handOff ? { lockInstance: handOff.lockInstanceOptions() } : undefined;
    let result: WorkAckResult | WorkTurnAckResult | void = undefined;
    let askedAt = 0;
    let askedAtMs = 0;
    let withTurnFailed = false;
    try {
      await retryWithinLease(
        async () => {
          askedAt = performance.now();
          askedAtMs = Date.now();
          if (speculative !== null && withTurn !== undefined && !withTurnFailed) {
            try {
              result = await withTurn(lease.lockToken, completion, speculative.turn, options);
              return;
            } catch (err) {
              if (!(err instanceof ProviderError) || err.retryable) throw err;
              // Nothing was written. Whatever the store held against the turn, the result must
              // not be lost with it: ack it plainly (a lost lock fails the same way there).
              withTurnFailed = true;
            }
          }
          result = await provider.ackWorkItem(lease.lockToken, completion, options);
        },
        until,
        (err, attempt) => {
          if (attempt === 1) {
            metrics.providerError("ack_work_item");
            logger.warn("ack_work_item failed transiently; retrying while the lock holds", {
              instance_id: lease.item.instance,
              activity_id: lease.item.id,
              lock_left_ms: Math.max(0, until() - Date.now()),
              error: String(err),
            });
          }
        },
      );
      const r = result as WorkAckResult | WorkTurnAckResult | void;
      if (r !== undefined && "applied" in r && r.applied) {
        speculative?.stored(r.leases, askedAt, askedAtMs);
        handOff?.unreserveTurn();
        return;
      }
      speculative?.dropped();
      const item = r !== undefined && "item" in r ? r.item : null;
      if (handOff !== null) {
        if (item !== null) handOff.runHandedOver(item, askedAtMs);
        else handOff.unreserveTurn();
      }
    } catch (err) {
      speculative?.dropped();
      handOff?.unreserveTurn();
      if (err instanceof ProviderError && !err.retryable) {
        // Lock lost or row withdrawn: someone else owns it now, or it was cancelled.
        logger.debug("activity result dropped: lock lost or activity withdrawn", { error: String(err) });
        return;
      }
      metrics.providerError("ack_work_item");
      logger.error("activity result not recorded: the store stayed unreachable until its lock lapsed; the activity will run again", {
        instance_id: lease.item.instance,
        activity_name: lease.item.name,
        activity_id: lease.item.id,
        error: String(err),
      });
      await provider.abandonWorkItem(lease.lockToken, 100, false).catch(() => undefined);
    }
  }
}
