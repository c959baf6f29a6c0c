// Orchestration dispatcher: fetch a locked instance, run one turn of the replay engine, ack it.
import type { AckResult, OrchestrationAck, OrchestrationItem, Provider, StartTurnResult, WorkItemLease } from "../providers/provider.js";
import type { LocalOrchestrator, SpeculativeTurn, WorkerDispatcher } from "./workerDispatcher.js";
import { OrchestrationExecution, type TurnResult } from "../orchestration/execution.js";
import { activate, rejectDuplicateStarts, turnStart, type TurnBegin, type TurnInput, type TurnOutcome } from "../orchestration/engine.js";
import type { HistoryEvent } from "../model/events.js";
import { newEvent, parentOf, startedKind } from "../model/eventFactory.js";
import { ErrorDetails, ProviderError, type ErrorDetailsData, type NotRegistered, type PoisonMessageType } from "../model/errors.js";
import { activityKey, type ParentLink, type WorkItem, type WorkItemOf } from "../model/workItems.js";
import type { Logger } from "../observability/logger.js";
import type { RuntimeMetrics } from "../observability/metrics.js";
import type { SpanIds, TelemetryHooks, TurnTelemetry } from "../observability/hooks.js";
import type { TraceCarrier } from "../model/trace.js";
import type { OrchestrationRegistry } from "./registry.js";
import type { ResolvedOptions } from "./options.js";
import { InstanceCache } from "./instanceCache.js";
import { WakeSignal } from "./signal.js";
import { dispatchItem, idlePollMs, runFetchLoop, type FetchLoop } from "./fetchLoop.js";
import { Slots } from "./slots.js";
import { retryWithinLease, unregisteredBackoffMs, unregisteredRetrySpanMs } from "./retrying.js";

export interface DispatcherDeps {
  provider: Provider;
  registry: OrchestrationRegistry;
  options: ResolvedOptions;
  logger: Logger;
  metrics: RuntimeMetrics;
  runtimeId: string;
  telemetry?: TelemetryHooks | undefined;
  /** This process's worker: new activities it accepts are leased to it by the ack itself. */
  localWorker?: LocalWorker | null;
}

/** What the dispatcher needs of the local worker to hand it activities without a fetch. */
export type LocalWorker = Pick<WorkerDispatcher, "reserve" | "unreserve" | "accepts" | "runLeased">;

type StartLike = WorkItemOf<"StartOrchestration"> | WorkItemOf<"ContinueAsNew">;

/** A turn the engine ran, waiting for its ack's answer. */
interface RanTurn {
  instance: string;
  execution: OrchestrationExecution;
  result: TurnResult;
  began: { name: string; version: string; initiatedBy: "client" | "continueAsNew" } | null;
}

/** The turn's telemetry, once begun; ended exactly once (after the ack, or on an error). */
interface TurnTrace {
  tel: TurnTelemetry | undefined;
}

/** Work items that carry the context of the turn that created them. */
function stampTrace(items: WorkItem[], context: TraceCarrier): void {
  for (const i of items) {
    if (i.type === "ActivityExecute" || i.type === "StartOrchestration" || i.type === "ContinueAsNew") i.trace = context;
  }
}

/** The turn's new work carries its trace context (when telemetry is on). */
function stampTurnTrace(result: TurnResult, trace: TurnTrace): void {
  const context = trace.tel?.workContext;
  if (!context) return;
  stampTrace(result.workerItems, context);
  stampTrace(result.orchestratorItems, context);
}

export class OrchestrationDispatcher implements LocalOrchestrator {
  readonly cache: InstanceCache;
  readonly wake = new WakeSignal();
  #running = false;
  #loops: Promise<void>[] = [];
  #inFlight = 0;
  #slots: Slots;
  #timerWakes = new Set<NodeJS.Timeout>();
  /** Span ids of the turn running for an execution, for its `ctx.trace*` records. */
  #turnIds = new WeakMap<OrchestrationExecution, SpanIds>();
  /** Until when (Date.now() ms) each item's instance lock surely holds (asked-for time of the fetch or last renewal + lock timeout). */
  #leaseUntil = new WeakMap<OrchestrationItem, number>();
  #unsubscribeClock: (() => void) | null = null;
  /** The fetch loop's configuration, kept so that instances handed over by a worker ack run the same way. */
  #loopConfig: FetchLoop<OrchestrationItem> | null = null;

  readonly #now: () => number;

  constructor(private readonly d: DispatcherDeps) {
    const clock = d.options.clock;
    this.#now = () => clock.now();
    this.cache = new InstanceCache(d.options.replayEveryTurn ? 0 : d.options.cacheSize, d.options.cacheIdleMs, d.options.cacheMaxBytes);
    this.#slots = new Slots(d.options.orchestrationConcurrency);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#running = true;
    // A clock that jumps (the test kit's) makes timers due early: look again at once.
    this.#unsubscribeClock = this.d.options.clock.onAdvance?.(() => this.wake.notifyAll()) ?? null;
    this.#loops.push(this.#loop(`orch-${this.d.runtimeId}`));
  }

  /** Wake for work that becomes visible at `visibleAtMs` (now or a timer in the future). */
  onWork(visibleAtMs: number): void {
    const delay = visibleAtMs - this.d.options.clock.now();
    if (delay <= 0) {
      this.wake.notifyOne();
      return;
    }
    const t = setTimeout(() => {
      this.#timerWakes.delete(t);
      this.wake.notifyOne();
    }, delay + 1);
    t.unref();
    this.#timerWakes.add(t);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribeClock?.();
    this.#unsubscribeClock = null;
    this.wake.notifyAll();
    for (const t of this.#timerWakes) clearTimeout(t);
    this.#timerWakes.clear();
    await Promise.all(this.#loops);
    this.#loops = [];
    this.cache.clear();
  }

  /**
   * One fetch loop feeds up to `orchestrationConcurrency` turns at a time, so an idle runtime
   * makes one poll per interval, not one per slot.
   */
  #loop(workerId: string): Promise<void> {
    const { provider, options, metrics, logger } = this.d;
    const loop: FetchLoop<OrchestrationItem> = {
      slots: this.#slots,
      wake: this.wake,
      pollIntervalMs: idlePollMs(options.pollIntervalMs, provider.notifiesAcrossProcesses === true, options.orchestratorLockTimeoutMs),
      isRunning: () => this.#running,
      fetch: async () => {
        const asked = Date.now();
        // What the cache holds is handed over as data: no runtime code runs inside the fetch.
        const item = await provider.fetchOrchestrationItem(options.orchestratorLockTimeoutMs, { knownHistory: this.cache.known });
        if (item) this.#leaseUntil.set(item, asked + options.orchestratorLockTimeoutMs);
        return item;
      },
      // Several instances per round trip when the store can (each locked on its own).
      ...(provider.fetchOrchestrationItems !== undefined
        ? {
            fetchMany: async (max: number) => {
              const asked = Date.now();
              const items = (await provider.fetchOrchestrationItems?.(max, options.orchestratorLockTimeoutMs, { knownHistory: this.cache.known })) ?? [];
              for (const item of items) this.#leaseUntil.set(item, asked + options.orchestratorLockTimeoutMs);
              return items;
            },
          }
        : {}),
      onFetchError: (err) => {
        metrics.providerError("fetch_orchestration_item");
        logger.warn("fetch_orchestration_item failed", { error: String(err), worker_id: workerId });
      },
      admit: () => {
        this.#inFlight++;
        metrics.orchItemsFetched(1);
        return true;
      },
      handle: (item) => this.#process(item, workerId),
      onHandleError: async (item, err) => {
        logger.error("orchestration turn failed unexpectedly", { instance_id: item.instance, error: String(err) });
        this.cache.delete(item.instance);
        await provider.abandonOrchestrationItem(item.lockToken, 100, false).catch(() => undefined);
      },
      done: () => {
        this.#inFlight--;
      },
      drained: (item) => item.moreReady === false,
    };
    this.#loopConfig = loop;
    return runFetchLoop(loop);
  }

  /**
   * Reserves a turn slot for an instance a worker ack will lock for this process
   * (`WorkAckOptions.lockInstance`); give it back with `unreserveTurn` if none comes.
   */
  reserveTurn(): boolean {
    return this.#running && this.#loopConfig !== null && this.#slots.tryAcquire(1) === 1;
  }

  unreserveTurn(): void {
    this.#slots.release();
  }

  /** What a worker ack needs to lock an instance for this dispatcher: its lock timeout and what the cache holds. */
  lockInstanceOptions(): { lockTimeoutMs: number; knownHistory: InstanceCache["known"] } {
    return { lockTimeoutMs: this.d.options.orchestratorLockTimeoutMs, knownHistory: this.cache.known };
  }

  /**
   * Runs a turn for an instance a worker ack locked for this process, in the slot reserved for
   * it. `askedAtMs` is when that ack was sent: its lock holds at least until then + the lock timeout.
   */
  runHandedOver(item: OrchestrationItem, askedAtMs: number): void {
    const loop = this.#loopConfig;
    if (loop === null || !this.#running) {
      // Stopped meanwhile: release the instance at once.
      this.#slots.release();
      void this.d.provider.abandonOrchestrationItem(item.lockToken, 0, true).catch(() => undefined);
      return;
    }
    this.#leaseUntil.set(item, askedAtMs + this.d.options.orchestratorLockTimeoutMs);
    void dispatchItem(loop, item);
  }

  async #process(item: OrchestrationItem, workerId: string): Promise<void> {
    const { provider, options } = this.d;
    const renew = setInterval(() => {
      const asked = Date.now();
      provider.renewOrchestrationItemLock(item.lockToken, options.orchestratorLockTimeoutMs).then(
        () => this.#leaseUntil.set(item, asked + options.orchestratorLockTimeoutMs),
        () => this.d.metrics.lockRenewalFailed("orchestration"),
      );
    }, Math.max(50, Math.floor(options.orchestratorLockTimeoutMs / 2)));
    renew.unref();
    const trace: TurnTrace = { tel: undefined };
    try {
      await this.#turn(item, workerId, trace);
    } catch (err) {
      trace.tel?.end({ stored: false, status: "Running", delta: [], output: null, failure: null, error: err });
      throw err;
    } finally {
      clearInterval(renew);
    }
  }

  /** Begins the turn's telemetry (no hooks: nothing). */
  #beginTurn(trace: TurnTrace, execution: OrchestrationExecution, workerId: string, which: TurnBegin): void {
    const hooks = this.d.telemetry;
    if (!hooks) return;
    trace.tel = hooks.turnStarted({
      instanceId: execution.instance,
      executionId: execution.executionId,
      orchestrationName: execution.orchestrationName,
      orchestrationVersion: execution.orchestrationVersion,
      workerId,
      ...which,
    });
    const ids = trace.tel.ids;
    if (ids) this.#turnIds.set(execution, ids);
  }

  /** One call into the engine, with this dispatcher's registry and the turn's telemetry begun on it. */
  #activate(input: Omit<TurnInput, "resolve" | "onBegin">, trace: TurnTrace, workerId: string): Promise<TurnOutcome> {
    return activate({
      ...input,
      resolve: (name, version) => this.d.registry.resolve(name, version),
      onBegin: (execution, begin) => {
        this.#beginTurn(trace, execution, workerId, begin);
        return trace.tel?.executionContext;
      },
    });
  }

  async #turn(item: OrchestrationItem, workerId: string, trace: TurnTrace): Promise<void> {
    const { provider, options, logger } = this.d;
    const instance = item.instance;

    if (item.deadLettered !== undefined && item.deadLettered.length > 0) return this.#endForDeadLetters(item);
    if (item.attemptCount > options.maxAttempts) return this.#poison(item);
    if (item.historyError !== null) {
      this.cache.delete(instance);
      logger.warn("history could not be read; will poison after max attempts", { instance_id: instance, error: item.historyError });
      await provider.abandonOrchestrationItem(item.lockToken, 1_000, false);
      return;
    }

    // The execution to run: cached live state, a replay of stored history, or a new one.
    let cached = this.cache.take(instance);
    if (item.historyAfterEventId > 0 && (!cached || cached.lastEventId !== item.historyAfterEventId || cached.executionId !== item.executionId)) {
      // The provider trusted a cache entry we no longer hold: fetch again with full history.
      await provider.abandonOrchestrationItem(item.lockToken, 0, true);
      return;
    }
    if (cached && item.historyAfterEventId === 0) cached = undefined; // provider sent full history: state moved on elsewhere

    // The turn itself: one call into the engine.
    const startedAt = Date.now();
    const outcome = await this.#activate(
      {
        instance,
        executionId: item.executionId,
        history: item.history,
        messages: item.messages,
        cached,
        create: (x) => this.#newExecution(x.instance, x.executionId, x.name, x.version, x.handler, item.kvSnapshot),
      },
      trace,
      workerId,
    );
    switch (outcome.kind) {
      case "nothing":
        // A finished execution, or messages for one that never started: they are consumed.
        await this.#ack(item, outcome.orchestratorItems, null);
        return;
      case "unregistered":
        return this.#unregistered(item, outcome.name, outcome.version);
      case "corrupt":
        return this.#failCorrupt(item, outcome.message);
      case "ran":
        break;
    }
    const { execution, result, began } = outcome;
    if (result.status === "Failed" && result.failure?.category === "configuration" && (await this.#suspend(item, result.failure))) return;
    stampTurnTrace(result, trace);
    const ok = await this.#ack(item, [], { execution, result });
    this.d.metrics.turnDuration(execution.orchestrationName, Date.now() - startedAt);
    this.#settle({ instance, execution, result, began }, ok, trace, workerId);
  }

  /**
   * After a turn's ack was answered: a stored turn commits its execution, counts and logs once,
   * ends its telemetry and stays cached unless it finished; one that was not stored ends its
   * telemetry so and leaves the cache (the next turn replays from storage).
   */
  #settle(t: RanTurn, stored: boolean, trace: TurnTrace, workerId: string): void {
    const { instance, execution, result, began } = t;
    const endTrace = (): void => {
      const tel = trace.tel;
      if (!tel) return;
      trace.tel = undefined;
      this.#turnIds.delete(execution);
      tel.end({ stored, status: result.status, delta: result.delta, output: result.output, failure: result.failure });
    };
    if (!stored) {
      endTrace();
      this.cache.delete(instance);
      return;
    }
    execution.commit();
    if (began !== null) {
      this.d.metrics.orchestrationStarted(began.name, { version: began.version, initiatedBy: began.initiatedBy });
      if (this.d.logger.isEnabled("debug"))
        this.d.logger.debug("Orchestration started", {
          ...this.#fields(execution, workerId),
          is_continue_as_new: began.initiatedBy === "continueAsNew",
        });
    }
    this.#recordOutcome(execution, result, workerId);
    endTrace();
    if (!execution.isFinished) this.cache.put(instance, execution);
    else this.cache.delete(instance);
  }

  /**
   * Runs a turn ahead of its store call (completion and start turns) and plans its ack, with its
   * new activities reserved for the local worker. Null when the store must not get it: the turn
   * threw, is not the kind expected (`expected`), or failed as configuration (nondeterminism and
   * the like: the turn fetched from storage decides, and may suspend); what ran is dropped then.
   */
  async #runAhead(
    input: Omit<TurnInput, "resolve" | "onBegin">,
    trace: TurnTrace,
    workerId: string,
    expected: (began: RanTurn["began"]) => boolean,
  ): Promise<{ ran: RanTurn; ack: OrchestrationAck; reserved: number } | null> {
    let outcome: TurnOutcome;
    try {
      outcome = await this.#activate(input, trace, workerId);
    } catch (err) {
      trace.tel?.end({ stored: false, status: "Running", delta: [], output: null, failure: null, error: err });
      return null;
    }
    if (outcome.kind !== "ran" || !expected(outcome.began)) {
      trace.tel?.end({ stored: false, status: "Running", delta: [], output: null, failure: null });
      return null;
    }
    const { execution, result } = outcome;
    const ran: RanTurn = { instance: input.instance, execution, result, began: outcome.began };
    if (result.status === "Failed" && result.failure?.category === "configuration") {
      this.#settle(ran, false, trace, workerId);
      return null;
    }
    stampTurnTrace(result, trace);
    const ack = this.#ackOf({ executionId: execution.executionId, orchestrationName: null, orchestrationVersion: null }, [], { execution, result });
    return { ran, ack, reserved: this.#leaseToLocalWorker(ack) };
  }

  /**
   * The completion turn: runs the turn an activity's completion causes ahead of its worker ack,
   * on the execution this dispatcher holds for the instance, with the completion as its only
   * message, so that the store can commit the ack and the turn together
   * (`Provider.ackWorkItemWithTurn`). Called by the worker in the turn slot it reserved
   * (`reserveTurn`). Null when it cannot (the execution is not held here or is in a turn, the
   * provider cannot store it, or the turn is one the stored history must decide: nothing was run
   * then, or what ran is dropped); the ack then goes as usual.
   */
  async completionTurn(completion: WorkItem): Promise<SpeculativeTurn | null> {
    if (completion.type !== "ActivityCompleted" && completion.type !== "ActivityFailed") return null;
    if (!this.#running || this.d.provider.ackWorkItemWithTurn === undefined) return null;
    const instance = completion.instance;
    if (this.cache.known.get(instance)?.executionId !== completion.executionId) return null;
    const cached = this.cache.take(instance);
    if (cached === undefined) return null;
    const from = { executionId: cached.executionId, lastEventId: cached.lastEventId };
    const workerId = this.#workerId;
    const trace: TurnTrace = { tel: undefined };
    const startedAt = Date.now();
    const ahead = await this.#runAhead(
      {
        instance,
        executionId: cached.executionId,
        history: [],
        messages: [completion],
        cached,
        create: () => {
          throw new Error("a cached execution is never created again");
        },
      },
      trace,
      workerId,
      // Not with a cached execution; should it happen, the usual path decides from storage.
      () => true,
    );
    if (ahead === null) return null;
    const { ran, ack, reserved } = ahead;
    const execution = ran.execution;
    this.#inFlight++;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.#inFlight--;
      return true;
    };
    return {
      turn: { instance, executionId: from.executionId, lastEventId: from.lastEventId, ack },
      stored: (leases, askedAt, askedAtMs) => {
        if (!settle()) return;
        this.d.metrics.turnDuration(execution.orchestrationName, Date.now() - startedAt);
        this.#settle(ran, true, trace, workerId);
        this.#handOver(reserved, leases, askedAt, askedAtMs);
      },
      dropped: () => {
        if (!settle()) return;
        this.d.localWorker?.unreserve(reserved);
        this.#settle(ran, false, trace, workerId);
      },
    };
  }

  /**
   * The start turn: runs a new instance's first turn here, with the client's start as its only
   * message, and stores it with the instance's creation (`Provider.createInstanceWithTurn`): one
   * commit instead of create, fetch and ack. Takes a turn slot for it (none free: false). Resolves
   * true once the start is stored, with the turn (finished then as an acked turn is: `#settle`,
   * leases run here) or queued by the store because the instance was not free (the turn is
   * dropped). False when nothing was written: the caller creates the instance as usual. Rejects
   * as `createInstance` does (the id is taken: the turn is dropped).
   */
  async startTurn(start: WorkItemOf<"StartOrchestration">): Promise<boolean> {
    const provider = this.d.provider;
    if (!this.#running || this.#loopConfig === null || provider.createInstanceWithTurn === undefined) return false;
    // Held here: the instance exists. Not registered here: the usual path decides (and waits for a runtime that has it).
    if (this.cache.known.has(start.instance) || this.d.registry.resolve(start.orchestration, start.version) === null) return false;
    if (this.#slots.tryAcquire(1) !== 1) {
      // The slots may only be out for the fetch in flight, which gives back those it does not fill
      // in a moment: wait for one then. Taken by turns: no free slot.
      const fetching = this.#slots.fetching;
      if (fetching === 0 || this.#slots.busy - fetching >= this.#slots.size) return false;
      await this.#slots.acquire();
      if (!this.#running) {
        this.#slots.release();
        return false;
      }
    }
    this.#inFlight++;
    try {
      return await this.#startTurnInSlot(start, provider.createInstanceWithTurn.bind(provider));
    } finally {
      this.#inFlight--;
      this.#slots.release();
    }
  }

  async #startTurnInSlot(start: WorkItemOf<"StartOrchestration">, create: NonNullable<Provider["createInstanceWithTurn"]>): Promise<boolean> {
    const instance = start.instance;
    const workerId = this.#workerId;
    const trace: TurnTrace = { tel: undefined };
    const startedAt = Date.now();
    const ahead = await this.#runAhead(
      {
        instance,
        executionId: start.executionId,
        history: [],
        messages: [start],
        cached: undefined,
        create: (x) => this.#newExecution(x.instance, x.executionId, x.name, x.version, x.handler, {}),
      },
      trace,
      workerId,
      // Not a plain start (should it happen): the usual path decides from storage.
      (began) => began?.initiatedBy === "client",
    );
    if (ahead === null) return false;
    const { ran, ack, reserved } = ahead;
    const execution = ran.execution;
    const askedAt = performance.now();
    const askedAtMs = Date.now();
    let r: StartTurnResult;
    try {
      r = await create(start, { ack });
    } catch (err) {
      this.d.localWorker?.unreserve(reserved);
      this.#settle(ran, false, trace, workerId);
      throw err;
    }
    if (!r.applied) {
      this.d.localWorker?.unreserve(reserved);
      this.#settle(ran, false, trace, workerId);
      return true;
    }
    this.d.metrics.turnDuration(execution.orchestrationName, Date.now() - startedAt);
    this.#settle(ran, true, trace, workerId);
    this.#handOver(reserved, r.leases, askedAt, askedAtMs);
    return true;
  }

  #newExecution(
    instance: string,
    executionId: number,
    name: string,
    version: string,
    handler: Parameters<OrchestrationRegistry["register"]>[2],
    kvSnapshot: OrchestrationItem["kvSnapshot"],
  ): OrchestrationExecution {
    const logger = this.d.logger.withTarget("duroxide::orchestration");
    const execution: OrchestrationExecution = new OrchestrationExecution({
      instance,
      executionId,
      orchestrationName: name,
      orchestrationVersion: version,
      handler,
      kvSnapshot,
      clock: this.#now,
      determinism: this.d.options.determinism,
      trace: (level, message, fields) => {
        if (!logger.isEnabled(level)) return;
        const ids = this.#turnIds.get(execution);
        logger.log(level, "duroxide::orchestration", message, {
          ...fields,
          worker_id: this.#workerId,
          ...(ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
        });
      },
    });
    return execution;
  }

  /** Ack with retries on transient errors. Returns false when the turn could not be stored. */
  async #ack(item: OrchestrationItem, extra: WorkItem[], turn: { execution: OrchestrationExecution; result: TurnResult } | null): Promise<boolean> {
    const { provider, logger } = this.d;
    const ack = this.#ackOf(item, extra, turn);
    const reserved = this.#leaseToLocalWorker(ack);
    try {
      let result: AckResult | void = undefined;
      let askedAt = 0;
      let askedAtMs = 0;
      await this.#retryWithinLease(item, "ack_orchestration_item", async () => {
        askedAt = performance.now();
        askedAtMs = Date.now();
        result = await provider.ackOrchestrationItem(item.lockToken, ack);
      });
      this.#handOver(reserved, (result as AckResult | void)?.leases ?? [], askedAt, askedAtMs);
      return true;
    } catch (err) {
      this.d.localWorker?.unreserve(reserved);
      this.d.metrics.providerError("ack_orchestration_item");
      logger.warn("ack_orchestration_item failed; the turn will run again", { instance_id: item.instance, error: String(err) });
      if (!(err instanceof ProviderError) || err.retryable) {
        await provider.abandonOrchestrationItem(item.lockToken, 50, false).catch(() => undefined);
      }
      return false;
    }
  }

  /** What a turn (or, with none, an item that ran no turn) writes. */
  #ackOf(
    item: Pick<OrchestrationItem, "executionId" | "orchestrationName" | "orchestrationVersion">,
    extra: WorkItem[],
    turn: { execution: OrchestrationExecution; result: TurnResult } | null,
  ): OrchestrationAck {
    const r = turn?.result;
    const x = turn?.execution;
    return {
      executionId: x ? x.executionId : item.executionId,
      historyDelta: r?.delta ?? [],
      workerItems: r?.workerItems ?? [],
      orchestratorItems: [...(r?.orchestratorItems ?? []), ...extra],
      cancelledActivities: r?.cancelledActivities ?? [],
      metadata: {
        orchestrationName: x?.orchestrationName ?? item.orchestrationName ?? "",
        orchestrationVersion: x?.orchestrationVersion ?? item.orchestrationVersion ?? "",
        ...(r && r.status !== "Running" ? { status: r.status, output: r.output, failure: r.failure } : {}),
        ...(x ? { parentInstanceId: x.parentInstance } : {}),
      },
    };
  }

  /**
   * Asks the ack to lease the turn's new activities that this process's worker accepts, up to the
   * worker's free slots (reserved now): they are written locked to this process in the ack's own
   * transaction and run without a fetch. Returns how many slots were reserved.
   */
  #leaseToLocalWorker(ack: OrchestrationAck): number {
    const worker = this.d.localWorker;
    if (!worker || ack.workerItems.length === 0) return 0;
    // An activity scheduled and withdrawn in the same turn (a race loser) is not leased.
    const withdrawn = ack.cancelledActivities.length > 0 ? new Set(ack.cancelledActivities.map(activityKey)) : null;
    const indexes: number[] = [];
    ack.workerItems.forEach((w, k) => {
      if (w.type !== "ActivityExecute" || !worker.accepts(w)) return;
      if (withdrawn?.has(activityKey({ instance: w.instance, executionId: w.executionId, activityId: w.id }))) return;
      indexes.push(k);
    });
    const reserved = indexes.length > 0 ? worker.reserve(indexes.length) : 0;
    if (reserved > 0) ack.leaseWorkerItems = { indexes: indexes.slice(0, reserved), lockTimeoutMs: this.d.options.workerLockTimeoutMs };
    return reserved;
  }

  /**
   * Runs the leased activities once the turn's own bookkeeping (commit, cache) is done — it runs
   * in the microtasks right after the ack — and gives back the slots not used.
   */
  #handOver(reserved: number, leases: readonly WorkItemLease[], askedAt: number, askedAtMs: number): void {
    const worker = this.d.localWorker;
    if (!worker || reserved === 0) return;
    const used = leases.slice(0, reserved);
    worker.unreserve(reserved - used.length);
    if (used.length > 0) setImmediate(() => worker.runLeased(used, askedAt, askedAtMs));
  }

  /** A turn's ack rides out a store outage for as long as the instance lock holds (renewals go on meanwhile). */
  #retryWithinLease(item: OrchestrationItem, operation: string, op: () => Promise<void>): Promise<void> {
    return retryWithinLease(
      op,
      () => this.#leaseUntil.get(item) ?? 0,
      (err, attempt) => {
        if (attempt !== 1) return;
        this.d.metrics.providerError(operation);
        this.d.logger.warn(`${operation} failed transiently; retrying while the instance lock holds`, { instance_id: item.instance, error: String(err) });
      },
    );
  }

  /** onNondeterminism "suspend": keep the instance Running, out of a hot loop, until code that fits picks it up. */
  async #suspend(item: OrchestrationItem, failure: ErrorDetailsData): Promise<boolean> {
    const { provider, options, logger } = this.d;
    if (options.onNondeterminism !== "suspend" || !provider.suspendOrchestrationItem) return false;
    this.cache.delete(item.instance);
    logger.warn("orchestration suspended: its code does not replay its history; it resumes when code that does is running", {
      instance_id: item.instance,
      error: new ErrorDetails(failure).displayMessage(),
      retry_in_ms: options.nondeterminismRetryMs,
    });
    await provider.suspendOrchestrationItem(item.lockToken, failure, options.nondeterminismRetryMs);
    return true;
  }

  async #unregistered(item: OrchestrationItem, name: string, version: string | null): Promise<void> {
    this.cache.delete(item.instance);
    if (item.attemptCount >= this.d.options.maxAttempts) return this.#failUnregistered(item, name, version);
    const delay = unregisteredBackoffMs(item.attemptCount);
    this.d.logger.warn("orchestration is not registered here; will retry (and poison after max attempts)", {
      instance_id: item.instance,
      orchestration_name: name,
      orchestration_version: version,
      retry_in_ms: delay,
      attempts_left: Math.max(0, this.d.options.maxAttempts - item.attemptCount),
    });
    await this.d.provider.abandonOrchestrationItem(item.lockToken, delay, false);
  }

  async #failCorrupt(item: OrchestrationItem, message: string): Promise<void> {
    this.cache.delete(item.instance);
    this.d.logger.error("corrupted history", { instance_id: item.instance, error: message });
    await this.d.provider.abandonOrchestrationItem(item.lockToken, 1_000, false);
  }

  /** The last allowed fetch found no handler either: fail the instance saying so, and for how long it was tried. */
  async #failUnregistered(item: OrchestrationItem, name: string, version: string | null): Promise<void> {
    const queuedAt = item.messages.find((m) => m.type === "StartOrchestration" && m.queuedAtMs !== undefined);
    const since = queuedAt?.type === "StartOrchestration" ? queuedAt.queuedAtMs : undefined;
    const notRegistered =
      since !== undefined
        ? { name, version, triedForMs: Math.max(0, Date.now() - since) }
        : { name, version, triedForMs: unregisteredRetrySpanMs(item.attemptCount), atLeast: true };
    const messageType = { kind: "Orchestration" as const, instance: item.instance, executionId: item.executionId };
    await this.#failInstance(item, this.#poisonDetails(item, messageType, notRegistered), "orchestration is not registered on any runtime that fetched it");
  }

  /** Too many attempts: fail the instance with a poison error naming the message. */
  async #poison(item: OrchestrationItem): Promise<void> {
    const messageType =
      item.historyError !== null
        ? { kind: "FailedDeserialization" as const, instance: item.instance, executionId: item.executionId, error: item.historyError }
        : { kind: "Orchestration" as const, instance: item.instance, executionId: item.executionId };
    await this.#failInstance(item, this.#poisonDetails(item, messageType), "orchestration poisoned");
  }

  /**
   * The fetch moved messages of this instance to the dead letters (they could not be read): the
   * instance cannot go on as its code expects, so it fails naming them, and its parent is told.
   * The dead letters stay stored, to be retried or discarded through the management API.
   */
  async #endForDeadLetters(item: OrchestrationItem): Promise<void> {
    const messageType = { kind: "DeadLettered" as const, instance: item.instance, executionId: item.executionId, deadLetters: item.deadLettered ?? [] };
    await this.#failInstance(item, this.#poisonDetails(item, messageType), "orchestration failed: a queued message could not be read and was dead-lettered");
  }

  /** The poison failure of this item, quoting its messages (cut to 4 KiB). */
  #poisonDetails(item: OrchestrationItem, messageType: PoisonMessageType, notRegistered?: NotRegistered): ErrorDetails {
    return ErrorDetails.poison(item.attemptCount, this.d.options.maxAttempts, messageType, JSON.stringify(item.messages).slice(0, 4_096), notRegistered);
  }

  /**
   * Ends the instance's current execution as Failed with `details` (appended after its last event,
   * or as a new execution when none has started) and tells its parent. An execution that already
   * finished is left as it is; only the messages are consumed.
   */
  async #failInstance(item: OrchestrationItem, details: ErrorDetails, logMessage: string): Promise<void> {
    const { options, provider } = this.d;
    this.cache.delete(item.instance);
    let history = item.history;
    let historyError = item.historyError;
    if (item.historyAfterEventId > 0 && historyError === null) {
      // The fetch left out history this runtime held in its cache; read all of it (the lock is ours).
      try {
        history = await provider.readExecution(item.instance, item.executionId);
      } catch (err) {
        historyError = String(err);
      }
    }
    const now = options.clock.now();
    // What the turn would have done, by the engine's one rule (unknown when history is unreadable).
    const what = historyError === null ? turnStart(history, item.executionId, item.messages) : null;
    const start = what?.kind === "begin" ? what.start : item.messages.find((m): m is StartLike => m.type === "StartOrchestration" || m.type === "ContinueAsNew");
    if (what?.kind === "finished") {
      // Finished already: nothing to fail. Duplicate starts from a parent learn that the id is taken.
      this.d.logger.warn(`${logMessage}; the instance had already finished`, { instance_id: item.instance, error: details.displayMessage() });
      await this.#ack(item, rejectDuplicateStarts(item.messages, item.instance), null);
      return;
    }
    const delta: HistoryEvent[] = [];
    let executionId = item.executionId;
    let name = item.orchestrationName ?? start?.orchestration ?? "unknown";
    const version = item.orchestrationVersion ?? start?.version ?? "0.0.0";
    let parent = start?.parent ?? null;
    const at = (eventId: number) => ({ instanceId: item.instance, executionId, eventId, timestampMs: now });
    const failed = { type: "OrchestrationFailed" as const, details: details.data };
    if (historyError !== null) {
      // The history cannot be read, so where it ends and who the parent is come from the store's
      // management view (event count; the parent's record of starting this child).
      const known = await this.#unreadableHistoryFacts(item);
      parent = known.parent;
      delta.push(newEvent(at(known.lastEventId + 1), failed));
    } else if (what?.kind === "begin" || what?.kind === "idle") {
      // No execution is running: the failure is a new execution's whole history.
      if (what.kind === "begin") executionId = what.executionId;
      name = start?.orchestration ?? name;
      delta.push(newEvent(at(1), startedKind({ name, version, input: start?.input ?? "null", parent })));
      delta.push(newEvent(at(2), failed));
    } else {
      const started = history[0];
      if (started?.type === "OrchestrationStarted") parent = parentOf(started);
      delta.push(newEvent(at(history[history.length - 1]!.eventId + 1), failed));
    }
    const orchestratorItems: WorkItem[] = parent ? [{ type: "SubOrchFailed", ...parent, details: details.data }] : [];
    this.d.metrics.orchestrationPoisoned(name);
    this.d.metrics.orchestrationFailed(name, "poison");
    this.d.logger.error(logMessage, { instance_id: item.instance, attempts: item.attemptCount, error: details.displayMessage() });
    await this.#retryWithinLease(item, "ack_orchestration_item", async () => {
        await provider.ackOrchestrationItem(item.lockToken, {
          executionId,
          historyDelta: delta,
          workerItems: [],
          orchestratorItems,
          cancelledActivities: [],
          metadata: { orchestrationName: name, orchestrationVersion: version, status: "Failed", failure: details.data, output: null },
        });
    }).catch(async (err) => {
      this.d.logger.error("could not record the instance's failure", { instance_id: item.instance, error: String(err) });
      await provider.abandonOrchestrationItem(item.lockToken, 1_000, false).catch(() => undefined);
    });
  }

  /**
   * For an execution whose history cannot be decoded: its last event id (the event count: ids are
   * contiguous from 1) and its parent, found from the instance record and the parent's
   * SubOrchestrationScheduled event for this instance. Without a management view (third-party
   * providers), the failure goes after every id an execution can plausibly have and no parent is told.
   */
  async #unreadableHistoryFacts(item: OrchestrationItem): Promise<{ lastEventId: number; parent: ParentLink | null }> {
    const admin = this.d.provider.admin;
    if (!admin) return { lastEventId: 1_000_000_000, parent: null };
    const exec = await admin.getExecutionInfo(item.instance, item.executionId);
    const info = await admin.getInstanceInfo(item.instance);
    let parent: ParentLink | null = null;
    if (info.parentInstanceId !== null) {
      const p = await admin.getInstanceInfo(info.parentInstanceId).catch(() => null);
      for (let e = p?.currentExecutionId ?? 0; e >= 1 && parent === null; e--) {
        const events = await admin.readHistory(info.parentInstanceId, e).catch((): HistoryEvent[] => []);
        const scheduled = events.find((ev) => ev.type === "SubOrchestrationScheduled" && ev.instance === item.instance);
        if (scheduled) parent = { parentInstance: info.parentInstanceId, parentId: scheduled.eventId, parentExecutionId: e };
      }
    }
    return { lastEventId: exec.eventCount, parent };
  }

  /** The fixed orchestration worker id (one fetch loop per dispatcher). */
  get #workerId(): string {
    return `orch-${this.d.runtimeId}`;
  }

  #fields(x: OrchestrationExecution, workerId: string): Record<string, string | number> {
    const ids = this.#turnIds.get(x);
    return {
      instance_id: x.instance,
      execution_id: x.executionId,
      orchestration_name: x.orchestrationName,
      orchestration_version: x.orchestrationVersion,
      worker_id: workerId,
      ...(ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
    };
  }

  /** Counts once per stored turn: sub-orchestration calls and the execution's terminal outcome. */
  #recordOutcome(x: OrchestrationExecution, r: TurnResult, workerId: string): void {
    const m = this.d.metrics;
    const logger = this.d.logger;
    for (const e of r.delta) if (e.type === "SubOrchestrationScheduled") m.subOrchestrationCalled(x.orchestrationName, e.name);
    if (r.status === "Running") return;
    const info = { version: x.orchestrationVersion };
    if (r.status === "Completed") m.orchestrationCompleted(x.orchestrationName, undefined, info);
    else if (r.status === "ContinuedAsNew") m.continuedAsNew(x.orchestrationName, info);
    else if (r.status === "Failed" && r.failure) m.orchestrationFailed(x.orchestrationName, r.failure.category, undefined, info);
    if (r.status === "Failed" && r.failure) {
      const level = r.failure.category === "application" ? "warn" : "error";
      if (logger.isEnabled(level))
        logger.log(level, "duroxide::runtime", `Orchestration failed${r.failure.category === "application" ? " (application error)" : ""}`, {
          ...this.#fields(x, workerId),
          error_type: r.failure.category,
          error: r.output ?? r.failure.message ?? null,
        });
    } else if (logger.isEnabled("debug")) {
      logger.debug(r.status === "Completed" ? "Orchestration completed" : "Orchestration continued as new", this.#fields(x, workerId));
    }
  }
}

