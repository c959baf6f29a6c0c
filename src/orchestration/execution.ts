// The replay engine: one execution of one orchestration instance, driven event by event.
//
// Pure: no I/O. Persisted history is replayed into the handler; new messages are then delivered one
// at a time, in arrival order, with a full microtask drain after each. Decisions the code makes are
// matched positionally against the decision events in history; past the end of history they become
// new events. The same object can be kept between turns (no re-replay) or rebuilt from history.
import {
  type EventKind,
  type HistoryEvent,
  type SystemCallOp,
  isDecisionEvent,
  isTerminalEvent,
} from "../model/events.js";
import {
  ErrorDetails,
  type ErrorDetailsData,
  ActivityFailedError,
  PayloadTooLargeError,
  SubOrchestrationFailedError,
  identityOfThrown,
  thrownMessage,
} from "../model/errors.js";
import type { ActivityIdentity, ParentLink, WorkItem } from "../model/workItems.js";
import { newEvent, parentOf, startedKind } from "../model/eventFactory.js";
import { decodeJson, encodeJson } from "../model/json.js";
import { historyPayloadBytes, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION } from "../model/payload.js";
import type { KvEntry } from "../model/kv.js";
import type { TraceCarrier } from "../model/trace.js";
import type { ExecutionStatus } from "../model/status.js";
import { realTimeNow } from "../model/clock.js";
import { DurableFuture } from "./future.js";
import { Mailbox } from "./mailbox.js";
import {
  type BreadcrumbType,
  type Decision,
  type DecisionBody,
  type Schedule,
  decisionMatches,
  describeDecision,
  describeEvent,
} from "./decisions.js";
import { OrchestrationContext } from "./context.js";
import { runHandler, type OrchestrationHandler } from "./handler.js";
import type { ContextHost, TraceLevel } from "./host.js";

export type { TraceLevel } from "./host.js";
import { callerLocation } from "./sourceLocation.js";
import {
  engineRandomUUID,
  engineSetImmediate,
  outsideScope,
  runInScope,
  seededRandom,
  type DeterminismMode,
  type DeterminismScope,
} from "./determinism.js";

export type TraceSink = (level: TraceLevel, message: string, fields: Record<string, string | number>) => void;

export interface ExecutionInit {
  instance: string;
  executionId: number;
  orchestrationName: string;
  orchestrationVersion: string;
  handler: OrchestrationHandler;
  kvSnapshot?: Record<string, KvEntry>;
  /** Wall clock for new events and timers. */
  clock?: () => number;
  newGuid?: () => string;
  trace?: TraceSink;
  /** The determinism guard for the code (default "off"; the runtime's default is "guard"). */
  determinism?: DeterminismMode;
}

export interface TurnResult {
  /** New events, in order, with fresh ids. */
  delta: HistoryEvent[];
  workerItems: WorkItem[];
  orchestratorItems: WorkItem[];
  cancelledActivities: ActivityIdentity[];
  status: ExecutionStatus;
  output: string | null;
  failure: ErrorDetailsData | null;
}

export interface StartInfo {
  input: string;
  parent: ParentLink | null;
  carryForwardEvents?: Array<[string, string]>;
  initialCustomStatus?: string | null;
  /** Stored as is in OrchestrationStarted (telemetry). */
  traceContext?: TraceCarrier;
}

type Outcome =
  | { kind: "completed"; output: string }
  | { kind: "failed"; details: ErrorDetails }
  | { kind: "continueAsNew"; input: string; version: string | null };

/** Thrown internally to abort a replay step with a nondeterminism failure. */
class Divergence extends Error {
  constructor(
    message: string,
    readonly location: string | null = null,
  ) {
    super(location ? `${message} (at ${location})` : message);
  }
}

/** Events the engine appends itself when an execution ends (before the terminal event). */
const FINALIZE_TYPES: ReadonlySet<string> = new Set([
  "ActivityCancelRequested",
  "SubOrchestrationCancelRequested",
  "ExternalSubscribedCancelled",
  "QueueSubscriptionCancelled",
]);

export class OrchestrationExecution {
  readonly instance: string;
  readonly executionId: number;
  readonly orchestrationName: string;
  readonly orchestrationVersion: string;
  readonly ctx: OrchestrationContext;

  #handler: OrchestrationHandler;
  #scope: DeterminismScope | null = null;
  /** Time of the last input event (what Date.now() returns to guarded code). */
  #eventTime = 0;
  #clock: () => number;
  #newGuid: () => string;
  #trace: TraceSink | undefined;

  /** Events in this execution (persisted + new). The events themselves are not kept. */
  #eventCount = 0;
  #persistedLen = 0;
  /** Payload bytes in this execution's history (persisted + new), bounded by the history limit. */
  #historyBytes = 0;
  /** Outstanding activities and children by schedule event id, in schedule order. */
  #openActivities = new Set<number>();
  #openChildren = new Map<number, string>();
  /** Schedules already completed (kept as ids only, to name duplicates precisely). */
  #doneIds = new Set<number>();
  #nextEventId = 1;
  #live = false;
  #turnActive = false;
  #dirty = false;

  // Replay matching state.
  #persistedDecisions: HistoryEvent[] = [];
  #decisionsEmitted = 0;
  #pendingNew: Decision[] = [];
  #tagChecks: Decision[] = [];

  // Turn output.
  #delta: HistoryEvent[] = [];
  #workerItems: WorkItem[] = [];
  #orchestratorItems: WorkItem[] = [];
  #cancelledActivities: ActivityIdentity[] = [];

  #schedules = new Map<number, Schedule>();
  #scheduleOfFuture = new Map<DurableFuture<unknown>, Schedule>();
  #events = new Mailbox();
  #queue = new Mailbox();
  #started: Extract<HistoryEvent, { type: "OrchestrationStarted" }> | null = null;
  #outcome: Outcome | null = null;
  #fatal: ErrorDetails | null = null;
  #cancelReason: string | null = null;
  #outOfTurn: string | null = null;
  #finished = false;

  /** Messages that arrived after a continue-as-new decision in the same batch. */
  #lateQueue: Array<[string, string]> = [];
  #lateEvents: WorkItem[] = [];

  #customStatus: string | null = null;
  #kv = new Map<string, KvEntry>();

  constructor(init: ExecutionInit) {
    this.instance = init.instance;
    this.executionId = init.executionId;
    this.orchestrationName = init.orchestrationName;
    this.orchestrationVersion = init.orchestrationVersion;
    this.#handler = init.handler;
    this.#clock = init.clock ?? realTimeNow;
    this.#newGuid = init.newGuid ?? engineRandomUUID;
    this.#trace = init.trace;
    const mode = init.determinism ?? "off";
    if (mode !== "off") {
      const random = seededRandom(`${init.instance}\u0000${init.executionId}`);
      this.#scope = {
        mode,
        now: () => this.#eventTime,
        random,
        violated: (e) => {
          this.#fatal ??= ErrorDetails.nondeterminism(e.message, this.orchestrationName, e.location);
          this.#dirty = true;
        },
      };
    }
    for (const [k, v] of Object.entries(init.kvSnapshot ?? {})) this.#kv.set(k, { ...v });
    this.ctx = new OrchestrationContext(this.#contextHost());
  }

  // ------------------------------------------------------------------ state queries

  get isReplaying(): boolean {
    return !this.#live;
  }
  /** Number of events this object holds as durable (persisted) history. */
  get historyLength(): number {
    return this.#persistedLen;
  }
  get lastEventId(): number {
    return this.#nextEventId - 1;
  }
  /** The trace context stored with this execution's OrchestrationStarted, if any. */
  get traceContext(): TraceCarrier | undefined {
    return this.#started?.trace;
  }
  /** True once the execution reached a terminal state (the object must not be reused). */
  get isFinished(): boolean {
    return this.#finished;
  }

  // ------------------------------------------------------------------ driving

  /** Begin a brand-new execution: append OrchestrationStarted and run the code until it waits. */
  async start(info: StartInfo): Promise<void> {
    return this.#scope ? runInScope(this.#scope, () => this.#start(info)) : this.#start(info);
  }

  async #start(info: StartInfo): Promise<void> {
    this.#live = true;
    this.#turnActive = true;
    try {
      const ev = this.#append(
        startedKind({
          name: this.orchestrationName,
          version: this.orchestrationVersion,
          input: info.input,
          parent: info.parent,
          carryForwardEvents: info.carryForwardEvents,
          initialCustomStatus: info.initialCustomStatus,
          trace: info.traceContext,
        }),
        null,
      );
      this.#onStarted(ev as Extract<HistoryEvent, { type: "OrchestrationStarted" }>);
      await this.#drain();
      // Carried-forward queue messages arrive first, ahead of anything else.
      const carried = info.carryForwardEvents ?? [];
      for (let i = 0; i < carried.length; i++) {
        if (this.#stopped()) {
          // The code ended before taking them all. After another continue-as-new the rest move on
          // to the next execution, ahead of anything that arrives later in this turn.
          if (this.#outcome?.kind === "continueAsNew" && !this.#fatal && this.#cancelReason === null)
            this.#lateQueue.push(...carried.slice(i));
          break;
        }
        const [name, data] = carried[i]!;
        this.#append({ type: "QueueEventDelivered", name, data }, null);
        this.#queue.deliver(name, data);
        await this.#drain();
      }
    } finally {
      this.#turnActive = false;
    }
  }

  /** Rebuild state by replaying persisted history (must begin with OrchestrationStarted). */
  async replay(history: HistoryEvent[]): Promise<void> {
    await this.#replay(history, false);
  }

  /**
   * Replay a whole stored execution, running or finished, and report how the code diverges from
   * it (null: it reproduces the history). Nothing is emitted: the object is spent afterwards.
   */
  async verify(history: HistoryEvent[]): Promise<ErrorDetails | null> {
    const last = history[history.length - 1];
    if (!last || !isTerminalEvent(last)) {
      await this.#replay(history, false);
      return this.#fatal;
    }
    const body = history.slice(0, -1);
    const stoppedAt = await this.#replay(body, true);
    if (this.#fatal && this.#fatal.category() === "configuration") return this.#fatal;
    if (!this.#stopped())
      return ErrorDetails.nondeterminism(
        `history shows the execution ended with ${last.type} at event ${last.eventId}, but the orchestration code is still waiting`,
        this.orchestrationName,
      );
    // What follows the event that ended the code: its remaining matched decisions, then the
    // engine's own end-of-execution events, which a fresh end must reproduce exactly.
    let ordinal = 0;
    for (let i = 1; i <= stoppedAt; i++) if (isDecisionEvent(history[i]!)) ordinal++;
    const tail: HistoryEvent[] = [];
    for (let i = stoppedAt + 1; i < body.length; i++) {
      const e = body[i]!;
      if (isDecisionEvent(e) && ordinal < this.#decisionsEmitted) {
        ordinal++;
        continue;
      }
      if (!FINALIZE_TYPES.has(e.type))
        return ErrorDetails.nondeterminism(
          `the orchestration code finished after event ${history[stoppedAt]!.eventId}, but its history continues with ${describeEvent(e)} at event ${e.eventId}`,
          this.orchestrationName,
        );
      tail.push(e);
    }
    if (ordinal < this.#decisionsEmitted)
      return ErrorDetails.nondeterminism(
        `the orchestration code made ${this.#decisionsEmitted - ordinal} more decision(s) than its history shows before it ended`,
        this.orchestrationName,
      );
    const ending = this.finishTurn().delta;
    const endEvent = ending[ending.length - 1]!;
    const sameTail =
      ending.length === tail.length + 1 &&
      tail.every((e, i) => e.type === ending[i]!.type && e.sourceEventId === ending[i]!.sourceEventId);
    if (!sameTail || endEvent.type !== last.type || terminalPayload(endEvent) !== terminalPayload(last))
      return ErrorDetails.nondeterminism(
        `history ends with ${last.type} ${terminalPayload(last)}, but the orchestration code ended with ${endEvent.type} ${terminalPayload(endEvent)}`,
        this.orchestrationName,
      );
    return null;
  }

  /** Returns the index of the history event after which the code stopped (or the last index). */
  #replay(history: HistoryEvent[], allowEnd: boolean): Promise<number> {
    return this.#scope ? runInScope(this.#scope, () => this.#replayIn(history, allowEnd)) : this.#replayIn(history, allowEnd);
  }

  async #replayIn(history: HistoryEvent[], allowEnd: boolean): Promise<number> {
    let at = 0;
    this.#turnActive = true;
    try {
      this.#eventCount = history.length;
      this.#persistedLen = history.length;
      for (const e of history) this.#historyBytes += historyPayloadBytes(e);
      for (const e of history) this.#trackOpen(e);
      this.#nextEventId = history.length > 0 ? history[history.length - 1]!.eventId + 1 : 1;
      this.#persistedDecisions = history.filter((e) => isDecisionEvent(e));
      if (history.length === 0) throw new Divergence("corrupted history: empty");
      const first = history[0]!;
      if (first.type !== "OrchestrationStarted")
        throw new Divergence("corrupted history: first event must be OrchestrationStarted");
      let decisionOrdinal = 0;
      this.#onStarted(first);
      await this.#drain();
      for (let i = 1; i < history.length && !this.#stopped(); i++) {
        const e = history[i]!;
        at = i;
        if (isDecisionEvent(e)) {
          if (decisionOrdinal >= this.#decisionsEmitted) {
            throw new Divergence(
              `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code did not do that`,
            );
          }
          decisionOrdinal++;
          continue;
        }
        this.#applyInput(e);
        await this.#drain();
      }
      if (allowEnd && this.#stopped()) return at;
      if (this.#outcome && !this.#fatal && this.#cancelReason === null) {
        throw new Divergence(
          `the orchestration finished during replay, but its history (${history.length} events) shows it still running`,
        );
      }
      if (!this.#stopped() && this.#decisionsEmitted < this.#persistedDecisions.length) {
        const e = this.#persistedDecisions[this.#decisionsEmitted]!;
        throw new Divergence(
          `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code did not do that`,
        );
      }
      this.#goLive();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#turnActive = false;
    }
    return at;
  }

  /** Deliver this turn's messages one at a time, in order, draining after each. */
  async applyMessages(messages: readonly WorkItem[]): Promise<void> {
    return this.#scope ? runInScope(this.#scope, () => this.#applyMessages(messages)) : this.#applyMessages(messages);
  }

  async #applyMessages(messages: readonly WorkItem[]): Promise<void> {
    if (this.#outOfTurn && !this.#fatal) {
      this.#fatal = ErrorDetails.nondeterminism(this.#outOfTurn);
    }
    this.#turnActive = true;
    try {
      for (const m of messages) {
        if (this.#stopped()) {
          // After a continue-as-new, messages meant for the instance move on to the next execution.
          if (this.#outcome?.kind === "continueAsNew" && !this.#fatal && this.#cancelReason === null) {
            if (m.type === "QueueMessage") this.#lateQueue.push([m.name, m.data]);
            else if (m.type === "ExternalRaised") this.#lateEvents.push(m);
            else if (m.type === "CancelInstance") this.#lateEvents.push(m);
          }
          continue;
        }
        this.#applyMessage(m);
        await this.#drain();
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#turnActive = false;
    }
  }

  /** Close the turn: terminal bookkeeping if the execution ended, then hand out the delta. */
  finishTurn(): TurnResult {
    if (!this.#stopped() && this.#outOfTurn) this.#fatal = ErrorDetails.nondeterminism(this.#outOfTurn, this.orchestrationName);
    if (!this.#stopped() && !this.#hasOpenWork()) {
      // Nothing durable can ever resume it: it awaits a promise the engine does not control.
      this.#fatal = ErrorDetails.nondeterminism(
        "the orchestration is waiting on something that is not a durable task (a plain promise, setTimeout, fetch, ...); await only tasks created by the orchestration context",
        this.orchestrationName,
      );
    }
    if (!this.#stopped() && this.#historyBytes > MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION) {
      // Results and events that arrived took the history past its limit: end it here, clearly.
      const err = new PayloadTooLargeError(`the history of execution ${this.executionId} of '${this.instance}'`, this.#historyBytes, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION);
      this.#outcome = { kind: "failed", details: ErrorDetails.orchestrationFailed(`${err.message} (continue as new to start a fresh one)`) };
    }
    let status: ExecutionStatus = "Running";
    let output: string | null = null;
    let failure: ErrorDetailsData | null = null;
    if (this.#fatal) {
      this.#finalize("failed", "orchestration_terminal_failed", "parent dropped sub-orchestration future");
      this.#append({ type: "OrchestrationFailed", details: this.#fatal.data }, null);
      this.#notifyParent({ ok: false, details: this.#fatal });
      status = "Failed";
      failure = this.#fatal.data;
    } else if (this.#cancelReason !== null) {
      const details = ErrorDetails.cancelled(this.#cancelReason);
      this.#finalize("cancelled", "orchestration_terminal_failed", "parent canceled");
      this.#append({ type: "OrchestrationFailed", details: details.data }, null);
      this.#notifyParent({ ok: false, details });
      status = "Failed";
      failure = details.data;
    } else if (this.#outcome) {
      const o = this.#outcome;
      if (o.kind === "continueAsNew") {
        const carried = [...this.#queue.unconsumed(), ...this.#lateQueue];
        this.#finalize("continueAsNew", "orchestration_terminal_continued_as_new", "parent dropped sub-orchestration future");
        this.#append({ type: "OrchestrationContinuedAsNew", input: o.input }, null);
        this.#orchestratorItems.push({
          type: "ContinueAsNew",
          instance: this.instance,
          orchestration: this.orchestrationName,
          input: o.input,
          version: o.version,
          carryForwardEvents: carried,
          initialCustomStatus: this.#customStatus,
          parent: this.#parentLink(),
        });
        // Queued after the ContinueAsNew item, so the next execution sees them after it starts.
        this.#orchestratorItems.push(...this.#lateEvents);
        status = "ContinuedAsNew";
        output = o.input;
      } else if (o.kind === "completed") {
        this.#finalize("completed", "orchestration_terminal_completed", "parent dropped sub-orchestration future");
        this.#append({ type: "OrchestrationCompleted", output: o.output }, null);
        this.#notifyParent({ ok: true, result: o.output });
        status = "Completed";
        output = o.output;
      } else {
        this.#finalize("failed", "orchestration_terminal_failed", "parent dropped sub-orchestration future");
        this.#append({ type: "OrchestrationFailed", details: o.details.data }, null);
        this.#notifyParent({ ok: false, details: o.details });
        status = "Failed";
        failure = o.details.data;
      }
    }
    const result: TurnResult = {
      delta: this.#delta,
      workerItems: this.#workerItems,
      orchestratorItems: this.#orchestratorItems,
      cancelledActivities: this.#cancelledActivities,
      status,
      output,
      failure,
    };
    this.#delta = [];
    this.#workerItems = [];
    this.#orchestratorItems = [];
    this.#cancelledActivities = [];
    if (status !== "Running") this.#finished = true;
    return result;
  }

  /** The turn's delta was stored: it now counts as persisted history. */
  commit(): void {
    this.#persistedLen = this.#eventCount;
  }

  // ------------------------------------------------------------------ internals: start/inputs

  #onStarted(ev: Extract<HistoryEvent, { type: "OrchestrationStarted" }>): void {
    this.#eventTime = ev.timestampMs;
    this.#started = ev;
    this.#customStatus = ev.initialCustomStatus ?? null;
    this.#dirty = true;
    runHandler(this.#handler, this.ctx, decodeJson(ev.input), (s) => this.#onHandlerSettled(s));
  }

  #onHandlerSettled(s: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    if (!this.#turnActive) {
      this.#outOfTurn ??=
        "the orchestration finished outside of a turn: it awaited something that is not a durable task (use ctx.scheduleTimer / activities instead of setTimeout, fetch, or other promises)";
      return;
    }
    if (this.#outcome || this.#fatal || this.#cancelReason !== null) return;
    this.#dirty = true;
    if (s.ok) {
      let output: string;
      try {
        output = encodeJson(s.value, "orchestration output");
      } catch (err) {
        this.#outcome = { kind: "failed", details: ErrorDetails.orchestrationFailed((err as Error).message) };
        return;
      }
      this.#outcome = { kind: "completed", output };
    } else if (s.error instanceof ActivityFailedError || s.error instanceof SubOrchestrationFailedError) {
      // A task failure the code let escape: application errors stay application errors, and keep
      // the identity (name, code, details) of the error first thrown, for this instance's parent.
      const d = s.error.failure;
      this.#outcome = {
        kind: "failed",
        details: d.category() === "application" ? ErrorDetails.orchestrationFailed(d.displayMessage(), identityOfThrown(s.error)) : d,
      };
    } else {
      this.#outcome = { kind: "failed", details: ErrorDetails.orchestrationFailed(errorMessage(s.error), identityOfThrown(s.error)) };
    }
  }

  #hasOpenWork(): boolean {
    for (const s of this.#schedules.values()) if (s.state === "open") return true;
    return false;
  }

  #stopped(): boolean {
    return this.#outcome !== null || this.#fatal !== null || this.#cancelReason !== null;
  }

  /** Replay of a persisted input event. */
  #applyInput(e: HistoryEvent): void {
    this.#eventTime = e.timestampMs;
    switch (e.type) {
      case "ActivityCompleted":
      case "ActivityFailed":
      case "TimerFired":
      case "SubOrchestrationCompleted":
      case "SubOrchestrationFailed": {
        const sched = e.sourceEventId === null ? undefined : this.#schedules.get(e.sourceEventId);
        if (!sched && e.sourceEventId !== null && this.#doneIds.has(e.sourceEventId))
          throw new Divergence(`history has a second completion for event ${e.sourceEventId}`);
        if (!sched) throw new Divergence(`history has ${e.type} for event ${e.sourceEventId}, which the code never scheduled`);
        if (!completionFits(sched.kind, e.type))
          throw new Divergence(`history has ${e.type} for event ${e.sourceEventId}, but the code scheduled a ${sched.kind} there`);
        // Exactly as when it arrived live: a cancelled task's late result is recorded, not delivered.
        if (sched.state === "open") this.#deliverCompletion(sched, e);
        else this.#markDone(sched);
        return;
      }
      case "ExternalEvent":
        this.#events.deliver(e.name, e.data);
        this.#dirty = true;
        return;
      case "QueueEventDelivered":
        this.#queue.deliver(e.name, e.data);
        this.#dirty = true;
        return;
      case "OrchestrationCancelRequested":
        this.#cancelReason = e.reason;
        return;
      case "OrchestrationStarted":
        throw new Divergence(`corrupted history: a second OrchestrationStarted at event ${e.eventId}`);
      default:
        if (isTerminalEvent(e)) throw new Divergence(`cannot replay a finished execution (event ${e.eventId} is ${e.type})`);
    }
  }

  /** Live delivery of a message: becomes a new event, then reaches its future. */
  #applyMessage(m: WorkItem): void {
    switch (m.type) {
      case "ActivityCompleted":
      case "ActivityFailed":
      case "TimerFired": {
        if (m.executionId !== this.executionId) return; // belongs to another execution
        const sched = this.#schedules.get(m.id);
        if (!sched || sched.state === "done") return; // unknown or duplicate: drop
        const kind: EventKind =
          m.type === "ActivityCompleted"
            ? { type: "ActivityCompleted", result: m.result }
            : m.type === "ActivityFailed"
              ? { type: "ActivityFailed", details: m.details }
              : { type: "TimerFired", fireAtMs: m.fireAtMs };
        if (!completionFits(sched.kind, kind.type)) return;
        const ev = this.#append(kind, m.id);
        if (sched.state === "open") this.#deliverCompletion(sched, ev);
        else this.#markDone(sched); // a cancelled task's late result: recorded, not delivered
        return;
      }
      case "SubOrchCompleted":
      case "SubOrchFailed": {
        if (m.parentExecutionId !== this.executionId) return;
        const sched = this.#schedules.get(m.parentId);
        if (!sched || sched.state === "done" || sched.kind !== "subOrchestration") return;
        const kind: EventKind =
          m.type === "SubOrchCompleted"
            ? { type: "SubOrchestrationCompleted", result: m.result }
            : { type: "SubOrchestrationFailed", details: m.details };
        const ev = this.#append(kind, m.parentId);
        if (sched.state === "open") this.#deliverCompletion(sched, ev);
        else this.#markDone(sched);
        return;
      }
      case "ExternalRaised":
        this.#append({ type: "ExternalEvent", name: m.name, data: m.data }, null);
        this.#events.deliver(m.name, m.data);
        this.#dirty = true;
        return;
      case "QueueMessage":
        this.#append({ type: "QueueEventDelivered", name: m.name, data: m.data }, null);
        this.#queue.deliver(m.name, m.data);
        this.#dirty = true;
        return;
      case "CancelInstance":
        this.#append({ type: "OrchestrationCancelRequested", reason: m.reason }, null);
        this.#cancelReason = m.reason;
        return;
      default:
        // Starts and continue-as-new are handled by the dispatcher; a duplicate start is ignored.
        return;
    }
  }

  #deliverCompletion(sched: Schedule, e: HistoryEvent): void {
    this.#markDone(sched);
    this.#dirty = true;
    const f = sched.future;
    switch (e.type) {
      case "ActivityCompleted":
        f._settle({ ok: true, value: decodeJson(e.result) });
        return;
      case "SubOrchestrationCompleted":
        f._settle({ ok: true, value: decodeJson(e.result) });
        return;
      case "TimerFired":
        f._settle({ ok: true, value: null });
        return;
      case "ActivityFailed":
      case "SubOrchestrationFailed": {
        const details = new ErrorDetails(e.details);
        if (details.category() !== "application") {
          // System errors are not the code's to handle: the orchestration fails with them.
          this.#fatal ??= details;
          return;
        }
        const err =
          e.type === "ActivityFailed" ? new ActivityFailedError(details) : new SubOrchestrationFailedError(details);
        f._settle({ ok: false, error: err });
        return;
      }
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ internals: decisions

  /** Record a decision the code just made. Returns the decision (bound if possible). */
  #decide(body: DecisionBody, future?: DurableFuture<unknown>): Decision {
    this.#checkInTurn(body);
    const d: Decision = future ? { body, future } : { body };
    if (this.#decisionsEmitted >= this.#persistedDecisions.length) this.#checkHistoryRoom(body);
    const ordinal = this.#decisionsEmitted++;
    if (ordinal < this.#persistedDecisions.length) {
      const e = this.#persistedDecisions[ordinal]!;
      if (!decisionMatches(body, e)) {
        const err = new Divergence(
          `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code tried to ${describeDecision(body)}`,
          callerLocation(),
        );
        this.#fail(err);
        throw err;
      }
      this.#bind(d, e);
      if (body.type === "ActivityScheduled") {
        d.verifyTag = true;
        this.#tagChecks.push(d);
      }
    } else if (this.#live) {
      this.#convert(d);
    } else {
      this.#pendingNew.push(d);
    }
    return d;
  }

  /** Bind a decision to its (replayed or new) event and register what it waits for. */
  #bind(d: Decision, e: HistoryEvent): void {
    d.event = e;
    const f = d.future;
    switch (e.type) {
      case "ActivityScheduled":
        this.#register(f!, { kind: "activity", eventId: e.eventId, future: f!, state: "open", name: e.name });
        return;
      case "TimerCreated":
        this.#register(f!, { kind: "timer", eventId: e.eventId, future: f!, state: "open", name: "" });
        return;
      case "SubOrchestrationScheduled":
        this.#register(f!, {
          kind: "subOrchestration",
          eventId: e.eventId,
          future: f!,
          state: "open",
          name: e.name,
          childInstance: e.instance,
        });
        return;
      case "ExternalSubscribed":
      case "QueueSubscribed": {
        const sched: Schedule = {
          kind: e.type === "ExternalSubscribed" ? "wait" : "queue",
          eventId: e.eventId,
          future: f!,
          state: "open",
          name: e.name,
        };
        this.#register(f!, sched);
        return;
      }
      case "SystemCall":
        f!._settle({ ok: true, value: e.op === "utcNow" ? Number(e.value) : e.value });
        this.#dirty = true;
        return;
      case "OrchestrationChained":
        f?._settle({ ok: true, value: null });
        this.#dirty = true;
        return;
      case "KeyValueSet": {
        // On replay the stored timestamp wins, so pruning by time replays exactly.
        const cur = this.#kv.get(e.key);
        if (cur && cur.value === e.value) cur.lastUpdatedAtMs = e.lastUpdatedAtMs;
        return;
      }
      default:
        return;
    }
  }

  #register(f: DurableFuture<unknown>, s: Schedule): void {
    // A wait may already have been satisfied from buffered messages, or cancelled, before binding.
    if (f.isSettled && !f.isCancelled) {
      this.#doneIds.add(s.eventId);
      return;
    }
    if (f.isCancelled) s.state = "cancelled";
    this.#schedules.set(s.eventId, s);
    this.#scheduleOfFuture.set(f, s);
  }

  /** A completed schedule is forgotten (only its id is kept): long histories stay cheap to hold. */
  #markDone(s: Schedule): void {
    s.state = "done";
    this.#schedules.delete(s.eventId);
    this.#scheduleOfFuture.delete(s.future);
    this.#doneIds.add(s.eventId);
  }

  #trackOpen(e: HistoryEvent): void {
    switch (e.type) {
      case "ActivityScheduled":
        this.#openActivities.add(e.eventId);
        return;
      case "ActivityCompleted":
      case "ActivityFailed":
      case "ActivityCancelRequested":
        if (e.sourceEventId !== null) this.#openActivities.delete(e.sourceEventId);
        return;
      case "SubOrchestrationScheduled":
        this.#openChildren.set(e.eventId, e.instance);
        return;
      case "SubOrchestrationCompleted":
      case "SubOrchestrationFailed":
      case "SubOrchestrationCancelRequested":
        if (e.sourceEventId !== null) this.#openChildren.delete(e.sourceEventId);
        return;
      default:
        return;
    }
  }

  /** Turn a new decision into a new event (and its work item). */
  #convert(d: Decision): void {
    const b = d.body;
    const now = this.#clock();
    let kind: EventKind;
    let source: number | null = null;
    switch (b.type) {
      case "ActivityScheduled":
        kind = {
          type: "ActivityScheduled",
          name: b.name,
          input: b.input,
          ...(b.sessionId !== undefined ? { sessionId: b.sessionId } : {}),
          ...(b.tag !== undefined ? { tag: b.tag } : {}),
          ...(b.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: b.heartbeatTimeoutMs } : {}),
          ...(b.failWhenLost === true ? { failWhenLost: true } : {}),
          ...(b.heartbeatDetails !== undefined ? { heartbeatDetails: b.heartbeatDetails } : {}),
        };
        break;
      case "TimerCreated":
        kind = { type: "TimerCreated", fireAtMs: now + b.delayMs };
        break;
      case "ExternalSubscribed":
      case "QueueSubscribed":
        kind = { type: b.type, name: b.name };
        break;
      case "SubOrchestrationScheduled":
        kind = {
          type: "SubOrchestrationScheduled",
          name: b.name,
          instance: b.explicitInstance ?? `${this.instance}::sub::${this.#nextEventId}`,
          input: b.input,
          ...(b.version !== undefined ? { version: b.version } : {}),
        };
        break;
      case "OrchestrationChained":
        kind = {
          type: "OrchestrationChained",
          name: b.name,
          instance: b.instance,
          input: b.input,
          ...(b.version !== undefined ? { version: b.version } : {}),
        };
        break;
      case "CustomStatusUpdated":
        kind = { type: "CustomStatusUpdated", status: b.status };
        break;
      case "KeyValueSet":
        kind = { type: "KeyValueSet", key: b.key, value: b.value, lastUpdatedAtMs: now };
        break;
      case "KeyValueCleared":
        kind = { type: "KeyValueCleared", key: b.key };
        break;
      case "KeyValuesCleared":
        kind = { type: "KeyValuesCleared" };
        break;
      case "SystemCall":
        kind = { type: "SystemCall", op: b.op, value: b.op === "utcNow" ? String(now) : this.#newGuid() };
        break;
      case "PatchMarker":
        kind = { type: "PatchMarker", patchId: b.patchId };
        break;
      default: {
        kind = { type: b.type, reason: b.reason };
        source = b.target.event?.eventId ?? null;
        break;
      }
    }
    const e = this.#append(kind, source);
    this.#bind(d, e);
    this.#emitWorkFor(d, e);
  }

  /** Work items and side channels for a new event. */
  #emitWorkFor(d: Decision, e: HistoryEvent): void {
    switch (e.type) {
      case "ActivityScheduled": {
        const w: WorkItem = {
          type: "ActivityExecute",
          instance: this.instance,
          executionId: this.executionId,
          id: e.eventId,
          name: e.name,
          input: e.input,
          ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
          ...(e.tag !== undefined ? { tag: e.tag } : {}),
          orchestrationName: this.orchestrationName,
          orchestrationVersion: this.orchestrationVersion,
          ...(e.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: e.heartbeatTimeoutMs } : {}),
          ...(e.failWhenLost === true ? { failWhenLost: true } : {}),
          ...(e.heartbeatDetails !== undefined ? { heartbeatDetails: e.heartbeatDetails } : {}),
        };
        d.workItem = w;
        this.#workerItems.push(w);
        return;
      }
      case "TimerCreated": {
        const w: WorkItem = {
          type: "TimerFired",
          instance: this.instance,
          executionId: this.executionId,
          id: e.eventId,
          fireAtMs: e.fireAtMs,
        };
        d.workItem = w;
        this.#orchestratorItems.push(w);
        return;
      }
      case "SubOrchestrationScheduled": {
        const w: WorkItem = {
          type: "StartOrchestration",
          instance: e.instance,
          orchestration: e.name,
          input: e.input,
          version: e.version ?? null,
          parent: { parentInstance: this.instance, parentId: e.eventId, parentExecutionId: this.executionId },
          executionId: 1,
        };
        d.workItem = w;
        this.#orchestratorItems.push(w);
        return;
      }
      case "OrchestrationChained": {
        const w: WorkItem = {
          type: "StartOrchestration",
          instance: e.instance,
          orchestration: e.name,
          input: e.input,
          version: e.version ?? null,
          parent: null,
          executionId: 1,
        };
        d.workItem = w;
        this.#orchestratorItems.push(w);
        return;
      }
      case "ActivityCancelRequested": {
        const target = (d.body as { target: Decision }).target;
        this.#withdrawActivity(target, e.sourceEventId!);
        return;
      }
      case "SubOrchestrationCancelRequested": {
        const target = (d.body as { target: Decision }).target;
        this.#cancelChild(target, "parent dropped sub-orchestration future");
        return;
      }
      default:
        return;
    }
  }

  #withdrawActivity(target: Decision, activityId: number): void {
    const i = target.workItem ? this.#workerItems.indexOf(target.workItem) : -1;
    if (i >= 0) {
      // Scheduled and cancelled in the same turn: it never reaches the queue.
      this.#workerItems.splice(i, 1);
      return;
    }
    this.#cancelledActivities.push({ instance: this.instance, executionId: this.executionId, activityId });
  }

  #cancelChild(target: Decision, reason: string): void {
    const i = target.workItem ? this.#orchestratorItems.indexOf(target.workItem) : -1;
    if (i >= 0) {
      this.#orchestratorItems.splice(i, 1);
      return;
    }
    const child = target.event && target.event.type === "SubOrchestrationScheduled" ? target.event.instance : undefined;
    if (child) this.#orchestratorItems.push({ type: "CancelInstance", instance: child, reason });
  }

  #goLive(): void {
    this.#live = true;
    // Every persisted decision has been matched; new decisions start after them.
    this.#decisionsEmitted -= this.#persistedDecisions.length;
    this.#persistedDecisions = [];
    const pending = this.#pendingNew;
    this.#pendingNew = [];
    for (const d of pending) this.#convert(d);
  }

  /** A new decision whose payload would take the history past its limit throws at the call. */
  #checkHistoryRoom(body: DecisionBody): void {
    const n = historyPayloadBytes(body);
    if (n > 0 && this.#historyBytes + n > MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION)
      throw new PayloadTooLargeError(
        `the history of execution ${this.executionId} of '${this.instance}' (continue as new to start a fresh one)`,
        this.#historyBytes + n,
        MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION,
      );
  }

  #append(kind: EventKind, sourceEventId: number | null): HistoryEvent {
    const e = newEvent(
      { instanceId: this.instance, executionId: this.executionId, eventId: this.#nextEventId++, sourceEventId, timestampMs: this.#clock() },
      kind,
    );
    this.#eventCount++;
    // The code next runs because of this input: its Date.now() is this event's time, live and on replay.
    if (!isDecisionEvent(e)) this.#eventTime = e.timestampMs;
    this.#historyBytes += historyPayloadBytes(kind);
    this.#trackOpen(e);
    this.#delta.push(e);
    return e;
  }

  // ------------------------------------------------------------------ internals: ending

  /** Cancel what is still outstanding when the execution ends (terminal event comes after). */
  #finalize(mode: "completed" | "failed" | "continueAsNew" | "cancelled", activityReason: string, childReason: string): void {
    // Outstanding work, tracked from every event, so it holds even when replay stopped early.
    const openActivities = new Set(this.#openActivities);
    const openChildren = new Map(this.#openChildren);
    // Work created this turn that no longer matters is simply not sent.
    const newActivityIds = new Set<number>();
    this.#workerItems = this.#workerItems.filter((w) => {
      if (w.type === "ActivityExecute" && openActivities.has(w.id)) {
        newActivityIds.add(w.id);
        return false;
      }
      return true;
    });
    const newChildren = new Set<string>();
    this.#orchestratorItems = this.#orchestratorItems.filter((w) => {
      if (w.type === "TimerFired") return false;
      if (w.type === "StartOrchestration" && w.parent !== null) {
        newChildren.add(w.instance);
        return false;
      }
      if (w.type === "StartOrchestration" && mode === "cancelled") return false;
      return true;
    });
    for (const id of openActivities.keys()) {
      this.#append({ type: "ActivityCancelRequested", reason: activityReason }, id);
      if (!newActivityIds.has(id))
        this.#cancelledActivities.push({ instance: this.instance, executionId: this.executionId, activityId: id });
    }
    for (const [id, child] of openChildren) {
      this.#append({ type: "SubOrchestrationCancelRequested", reason: childReason }, id);
      if (!newChildren.has(child)) this.#orchestratorItems.push({ type: "CancelInstance", instance: child, reason: childReason });
    }
    for (const s of [...this.#schedules.values()].sort((a, b) => a.eventId - b.eventId)) {
      if (s.state !== "open") continue;
      if (s.kind === "wait") this.#append({ type: "ExternalSubscribedCancelled", reason: "orchestration_terminal" }, s.eventId);
      if (s.kind === "queue") this.#append({ type: "QueueSubscriptionCancelled", reason: "orchestration_terminal" }, s.eventId);
    }
  }

  /** The parent instance of a sub-orchestration, or null. */
  get parentInstance(): string | null {
    return this.#started?.parentInstance ?? null;
  }

  #parentLink(): ParentLink | null {
    return this.#started ? parentOf(this.#started) : null;
  }

  #notifyParent(r: { ok: true; result: string } | { ok: false; details: ErrorDetails }): void {
    const p = this.#parentLink();
    if (!p) return;
    if (r.ok) this.#orchestratorItems.push({ type: "SubOrchCompleted", ...p, result: r.result });
    else this.#orchestratorItems.push({ type: "SubOrchFailed", ...p, details: r.details.data });
  }

  #fail(err: unknown): void {
    if (this.#fatal) return;
    if (err instanceof Divergence) this.#fatal = ErrorDetails.nondeterminism(err.message, this.orchestrationName, err.location);
    else this.#fatal = ErrorDetails.infrastructure("replay", errorMessage(err), false);
  }

  #checkInTurn(what: DecisionBody | string): void {
    if (!this.#turnActive) {
      const action = typeof what === "string" ? what : describeDecision(what);
      this.#outOfTurn ??= `the orchestration tried to ${action} outside of a turn: it awaited something that is not a durable task (use ctx.scheduleTimer / activities instead of setTimeout, fetch, or other promises)`;
      throw new Error(this.#outOfTurn);
    }
    if (this.#stopped()) throw new Error("the orchestration has already ended");
  }

  /** Let every microtask the delivery caused run, then verify tags of replayed activities. */
  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      await new Promise<void>((r) => engineSetImmediate(r));
    }
    if (this.#tagChecks.length > 0) {
      const checks = this.#tagChecks;
      this.#tagChecks = [];
      for (const d of checks) {
        const e = d.event as Extract<HistoryEvent, { type: "ActivityScheduled" }>;
        const b = d.body as Extract<DecisionBody, { type: "ActivityScheduled" }>;
        if ((e.tag ?? undefined) !== (b.tag ?? undefined))
          throw new Divergence(
            `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code tried to ${describeDecision(b)}`,
          );
      }
    }
  }

  // ------------------------------------------------------------------ API used by the context

  /** The port the context talks through (see host.ts); each member forwards to a private method. */
  #contextHost(): ContextHost {
    const self = this;
    return {
      instance: this.instance,
      executionId: this.executionId,
      orchestrationName: this.orchestrationName,
      orchestrationVersion: this.orchestrationVersion,
      get isReplaying() {
        return !self.#live;
      },
      decide: (body, future) => this.#decide(body, future),
      cancelFuture: (d, breadcrumb) => this.#cancelFuture(d, breadcrumb),
      subscribe: (kind, name, future) => this.#subscribe(kind, name, future),
      markDirty: () => this.#markDirty(),
      requestContinueAsNew: (input, version) => this.#requestContinueAsNew(input, version),
      setCustomStatus: (status) => this.#setCustomStatus(status),
      getCustomStatus: () => this.#customStatus,
      kvSet: (key, value) => this.#kvSet(key, value),
      kvClear: (key) => this.#kvClear(key),
      kvClearAll: () => this.#kvClearAll(),
      kv: () => this.#kv,
      trace: (level, message) => this.#emitTrace(level, message),
      systemCall: (op, future) => this.#systemCall(op, future),
      patch: (patchId, mode) => this.#patch(patchId, mode),
    };
  }

  #markDirty(): void {
    this.#dirty = true;
  }

  /** Hook up cancellation for a schedule-backed future. */
  #cancelFuture(d: Decision, breadcrumb: BreadcrumbType | null): void {
    const f = d.future!;
    const s = this.#scheduleOfFuture.get(f);
    if (s) {
      if (s.state !== "open") return;
      s.state = "cancelled";
    } else if (d.event) {
      return; // bound and already completed
    }
    if (d.body.type === "ExternalSubscribed") this.#events.withdraw(d.body.name, f);
    if (d.body.type === "QueueSubscribed") this.#queue.withdraw(d.body.name, f);
    if (breadcrumb) this.#decide({ type: breadcrumb, reason: "dropped_future", target: d });
  }

  #subscribe(kind: "wait" | "queue", name: string, future: DurableFuture<unknown>): void {
    const box = kind === "wait" ? this.#events : this.#queue;
    box.wait(name, future, (data) => {
      const s = this.#scheduleOfFuture.get(future);
      if (s) this.#markDone(s);
      this.#dirty = true;
      future._settle({ ok: true, value: decodeJson(data) });
    });
  }

  #requestContinueAsNew(input: string, version: string | null): void {
    this.#checkInTurn("continue as new");
    this.#outcome ??= { kind: "continueAsNew", input, version };
    this.#dirty = true;
  }

  #setCustomStatus(status: string | null): void {
    this.#customStatus = status;
    this.#decide({ type: "CustomStatusUpdated", status });
  }
  #kvSet(key: string, value: string): void {
    this.#kv.set(key, { value, lastUpdatedAtMs: this.#clock() });
    const d = this.#decide({ type: "KeyValueSet", key, value });
    if (d.event && d.event.type === "KeyValueSet") this.#kv.get(key)!.lastUpdatedAtMs = d.event.lastUpdatedAtMs;
  }
  #kvClear(key: string): void {
    this.#kv.delete(key);
    this.#decide({ type: "KeyValueCleared", key });
  }
  #kvClearAll(): void {
    this.#kv.clear();
    this.#decide({ type: "KeyValuesCleared" });
  }
  #emitTrace(level: TraceLevel, message: string): void {
    if (!this.#live || !this.#trace) return;
    const trace = this.#trace;
    outsideScope(() => trace(level, message, {
      instance_id: this.instance,
      execution_id: this.executionId,
      orchestration_name: this.orchestrationName,
      orchestration_version: this.orchestrationVersion,
    }));
  }

  /**
   * `ctx.patched` / `ctx.deprecatePatch`. The decision at this position in history says which
   * path the instance took: its marker means the patched path; another decision means the
   * instance ran code without the patch. Past the recorded decisions the instance reaches the
   * patch for the first time: `patched` records the marker and takes the new path;
   * `deprecatePatch` records nothing, so it can be deleted later.
   */
  #patch(patchId: string, mode: "patched" | "deprecated"): boolean {
    const body: DecisionBody = { type: "PatchMarker", patchId };
    this.#checkInTurn(body);
    const ordinal = this.#decisionsEmitted;
    if (ordinal < this.#persistedDecisions.length) {
      const e = this.#persistedDecisions[ordinal]!;
      if (e.type === "PatchMarker" && e.patchId === patchId) {
        this.#decide(body);
        return true;
      }
      return false;
    }
    if (mode === "deprecated") return true;
    this.#decide(body);
    return true;
  }

  #systemCall(op: SystemCallOp, future: DurableFuture<unknown>): void {
    this.#decide({ type: "SystemCall", op }, future);
  }
}

function completionFits(kind: Schedule["kind"], type: string): boolean {
  switch (type) {
    case "ActivityCompleted":
    case "ActivityFailed":
      return kind === "activity";
    case "TimerFired":
      return kind === "timer";
    case "SubOrchestrationCompleted":
    case "SubOrchestrationFailed":
      return kind === "subOrchestration";
    default:
      return false;
  }
}

/** What a terminal event says, for comparing an ending with the stored one. */
function terminalPayload(e: HistoryEvent): string {
  if (e.type === "OrchestrationCompleted") return e.output;
  if (e.type === "OrchestrationContinuedAsNew") return e.input;
  if (e.type === "OrchestrationFailed") return JSON.stringify(e.details);
  return "";
}

export const errorMessage = thrownMessage;
