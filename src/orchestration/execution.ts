// The replay engine: one execution of one orchestration instance, driven event by event.
//
// Pure: no I/O. Persisted history is replayed into the handler; new messages are then delivered one
// at a time, in arrival order, with a full microtask drain after each. Decisions the code makes are
// matched positionally against the decision events in history; past the end of history they become
// new events. The same object can be kept between turns (no re-replay) or rebuilt from history.
//
// Neighbours with one job each: schedules.ts (what the code waits on), ending.ts (how it ends and
// what that writes), turnOutput.ts (the turn's delta and work), workFor.ts (the work a new event
// sends), decisions.ts (matching and recording decisions), model/eventFactory.ts (every event).
// engine.ts drives a whole turn through this class.
import { type EventEnvelope, type EventKind, type EventOf, type HistoryEvent, type SystemCallOp, isDecisionEvent, isTerminalEvent } from "../model/events.js";
import { ErrorDetails, ActivityFailedError, PayloadTooLargeError, SubOrchestrationFailedError, thrownMessage } from "../model/errors.js";
import type { ParentLink, WorkItem } from "../model/workItems.js";
import { eventOfMessage, newEvent, parentOf, startedKind } from "../model/eventFactory.js";
import { decodeJson } from "../model/json.js";
import { historyPayloadBytes, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION } from "../model/payload.js";
import type { KvEntry } from "../model/kv.js";
import type { TraceCarrier } from "../model/trace.js";
import { realTimeNow } from "../model/clock.js";
import type { DurableFuture } from "./future.js";
import { Mailbox } from "./mailbox.js";
import {
  type BreadcrumbType,
  type Decision,
  type DecisionBody,
  completionFits,
  decisionMatches,
  describeDecision,
  describeEvent,
  eventOfDecision,
} from "./decisions.js";
import { OrchestrationContext } from "./context.js";
import { runHandler, type OrchestrationHandler } from "./handler.js";
import type { ContextHost, TraceLevel } from "./host.js";
import { ScheduleTable, type Schedule } from "./schedules.js";
import { type Ending, endingOfResult, laterEnding, terminationOf } from "./ending.js";
import { TurnOutput, type TurnResult } from "./turnOutput.js";
import { workFor } from "./workFor.js";
import { callerLocation } from "./sourceLocation.js";
import { DecisionCursor } from "./decisionCursor.js";
import {
  engineRandomUUID,
  engineSetImmediate,
  outsideScope,
  runInScope,
  seededRandom,
  type DeterminismMode,
  type DeterminismScope,
} from "./determinism.js";

export type { TraceLevel } from "./host.js";
export type { TurnResult } from "./turnOutput.js";

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

export interface StartInfo {
  input: string;
  parent: ParentLink | null;
  carryForwardEvents?: Array<[string, string]>;
  initialCustomStatus?: string | null;
  /** Stored as is in OrchestrationStarted (telemetry). */
  traceContext?: TraceCarrier;
}

/** Thrown internally to abort a replay step with a nondeterminism failure. */
class Divergence extends Error {
  constructor(
    message: string,
    readonly location: string | null = null,
  ) {
    super(location ? `${message} (at ${location})` : message);
  }
}

/** The code stopped short of its history: named by the last call it made into the context, when known. */
function stoppedShort(message: string, lastCall: string | null): Divergence {
  return lastCall
    ? new Divergence(`${message}; it stopped after its last call into the orchestration context`, lastCall)
    : new Divergence(message);
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
  #nextEventId = 1;
  #live = false;
  #turnActive = false;
  #dirty = false;

  #decisions = new DecisionCursor();

  #out = new TurnOutput();
  #schedules = new ScheduleTable();
  #events = new Mailbox();
  #queue = new Mailbox();
  #started: EventOf<"OrchestrationStarted"> | null = null;
  #ending: Ending | null = null;
  /** What the code tried outside of a turn (reported as nondeterminism at the next turn). */
  #outOfTurn: string | null = null;
  #finished = false;

  /** Messages that arrived after a continue-as-new decision in the same batch. */
  #lateQueue: Array<[string, string]> = [];
  #lateEvents: WorkItem[] = [];

  #customStatus: string | null = null;
  #kv = new Map<string, KvEntry>();

  /** What built this execution: a diagnostic re-run (`#lastCallOfReplay`) starts from the same. */
  readonly #init: ExecutionInit;
  /** Diagnostic re-runs only: record where the code calls into the context (costs a stack each). */
  #probe = false;
  #lastCall: string | null = null;

  constructor(init: ExecutionInit) {
    this.#init = init;
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
          this.#end({ kind: "broken", details: ErrorDetails.nondeterminism(e.message, this.orchestrationName, e.location) });
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
  /** Payload bytes (inputs, results, event data) of the history so far: what the code was handed. */
  get historyBytes(): number {
    return this.#historyBytes;
  }
  /** The trace context stored with this execution's OrchestrationStarted, if any. */
  get traceContext(): TraceCarrier | undefined {
    return this.#started?.trace;
  }
  /** True once the execution reached a terminal state (the object must not be reused). */
  get isFinished(): boolean {
    return this.#finished;
  }
  /** The parent instance of a sub-orchestration, or null. */
  get parentInstance(): string | null {
    return this.#started?.parentInstance ?? null;
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
      this.#onStarted(ev);
      await this.#drain();
      // Carried-forward queue messages arrive first, ahead of anything else.
      const carried = info.carryForwardEvents ?? [];
      for (let i = 0; i < carried.length; i++) {
        if (this.#ending) {
          // The code ended before taking them all. After another continue-as-new the rest move on
          // to the next execution, ahead of anything that arrives later in this turn.
          if (this.#ending.kind === "continuedAsNew") this.#lateQueue.push(...carried.slice(i));
          break;
        }
        const [name, data] = carried[i]!;
        this.#applyEvent(this.#append({ type: "QueueEventDelivered", name, data }, null));
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
      return this.#broken();
    }
    const body = history.slice(0, -1);
    const stoppedAt = await this.#replay(body, true);
    const broken = this.#broken();
    if (broken && broken.category() === "configuration") return broken;
    if (!this.#ending) {
      const d = stoppedShort(
        `history shows the execution ended with ${last.type} at event ${last.eventId}, but the orchestration code is still waiting`,
        await this.#lastCallOfReplay(body, true),
      );
      return ErrorDetails.nondeterminism(d.message, this.orchestrationName, d.location);
    }
    // What follows the event that ended the code: its remaining matched decisions, then the
    // engine's own end-of-execution events, which a fresh end must reproduce exactly.
    let ordinal = 0;
    for (let i = 1; i <= stoppedAt; i++) if (isDecisionEvent(history[i]!)) ordinal++;
    const tail: HistoryEvent[] = [];
    for (let i = stoppedAt + 1; i < body.length; i++) {
      const e = body[i]!;
      if (isDecisionEvent(e) && ordinal < this.#decisions.made) {
        ordinal++;
        continue;
      }
      if (!FINALIZE_TYPES.has(e.type)) {
        const d = stoppedShort(
          `the orchestration code finished after event ${history[stoppedAt]!.eventId}, but its history continues with ${describeEvent(e)} at event ${e.eventId}`,
          await this.#lastCallOfReplay(body, true),
        );
        return ErrorDetails.nondeterminism(d.message, this.orchestrationName, d.location);
      }
      tail.push(e);
    }
    if (ordinal < this.#decisions.made)
      return ErrorDetails.nondeterminism(
        `the orchestration code made ${this.#decisions.made - ordinal} more decision(s) than its history shows before it ended`,
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

  /**
   * Where the code stopped, for an error that says it made fewer decisions than its history: the
   * replay runs again on a fresh execution that records the source line of each call into the
   * context (so the normal path never captures a stack) and the last one is returned. Replay is
   * deterministic, so the second run stops where the first did. Null when the code made no call.
   */
  async #lastCallOfReplay(history: HistoryEvent[], allowEnd: boolean): Promise<string | null> {
    if (this.#probe) return null;
    try {
      const probe = new OrchestrationExecution(this.#init);
      probe.#probe = true;
      await probe.#replay(history, allowEnd);
      return probe.#lastCall;
    } catch {
      return null; // a diagnostic only: never turn a precise error into another one
    }
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
      // Every event counts toward the history's size and what is outstanding, even past the point
      // where the code stops.
      for (const e of history) {
        this.#historyBytes += historyPayloadBytes(e);
        this.#schedules.noteEvent(e);
      }
      this.#nextEventId = history.length > 0 ? history[history.length - 1]!.eventId + 1 : 1;
      this.#decisions.load(history);
      if (history.length === 0) throw new Divergence("corrupted history: empty");
      const first = history[0]!;
      if (first.type !== "OrchestrationStarted")
        throw new Divergence("corrupted history: first event must be OrchestrationStarted");
      let decisionOrdinal = 0;
      this.#onStarted(first);
      await this.#drain();
      for (let i = 1; i < history.length && !this.#ending; i++) {
        const e = history[i]!;
        at = i;
        if (isDecisionEvent(e)) {
          if (decisionOrdinal >= this.#decisions.made) {
            throw stoppedShort(
              `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code did not do that`,
              await this.#lastCallOfReplay(history, allowEnd),
            );
          }
          decisionOrdinal++;
          continue;
        }
        this.#applyEvent(e);
        await this.#drain();
      }
      if (allowEnd && this.#ending) return at;
      const k = this.#ending?.kind;
      if (k === "completed" || k === "failed" || k === "continuedAsNew") {
        throw stoppedShort(
          `the orchestration finished during replay, but its history (${history.length} events) shows it still running`,
          await this.#lastCallOfReplay(history, allowEnd),
        );
      }
      const unmatched = this.#decisions.next;
      if (!this.#ending && unmatched) {
        const e = unmatched;
        throw stoppedShort(
          `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code did not do that`,
          await this.#lastCallOfReplay(history, allowEnd),
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
    if (this.#outOfTurn) this.#end({ kind: "broken", details: ErrorDetails.nondeterminism(this.#outOfTurn) });
    this.#turnActive = true;
    try {
      for (const m of messages) {
        if (this.#ending) {
          // After a continue-as-new, messages meant for the instance move on to the next execution.
          if (this.#ending.kind === "continuedAsNew") {
            if (m.type === "QueueMessage") this.#lateQueue.push([m.name, m.data]);
            else if (m.type === "ExternalRaised" || m.type === "CancelInstance") this.#lateEvents.push(m);
          }
          continue;
        }
        this.#takeMessage(m);
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
    if (!this.#ending && this.#outOfTurn)
      this.#end({ kind: "broken", details: ErrorDetails.nondeterminism(this.#outOfTurn, this.orchestrationName) });
    if (!this.#ending && !this.#schedules.hasOpen()) {
      // Nothing durable can ever resume it: it awaits a promise the engine does not control.
      this.#end({
        kind: "broken",
        details: ErrorDetails.nondeterminism(
          "the orchestration is waiting on something that is not a durable task (a plain promise, setTimeout, fetch, ...); await only tasks created by the orchestration context",
          this.orchestrationName,
        ),
      });
    }
    if (!this.#ending && this.#historyBytes > MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION) {
      // Results and events that arrived took the history past its limit: end it here, clearly.
      const err = new PayloadTooLargeError(`the history of execution ${this.executionId} of '${this.instance}'`, this.#historyBytes, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION);
      this.#end({ kind: "failed", details: ErrorDetails.orchestrationFailed(`${err.message} (continue as new to start a fresh one)`) });
    }
    if (!this.#ending) return this.#out.take("Running", null, null);
    const t = terminationOf(this.#ending);
    this.#cancelOutstanding(t.activityReason, t.childReason, t.dropsDetachedStarts);
    this.#append(t.terminal, null);
    const parent = this.#started ? parentOf(this.#started) : null;
    if (this.#ending.kind === "continuedAsNew") {
      this.#out.orchestratorItems.push({
        type: "ContinueAsNew",
        instance: this.instance,
        orchestration: this.orchestrationName,
        input: this.#ending.input,
        version: this.#ending.version,
        carryForwardEvents: [...this.#queue.unconsumed(), ...this.#lateQueue],
        initialCustomStatus: this.#customStatus,
        parent,
      });
      // Queued after the ContinueAsNew item, so the next execution sees them after it starts.
      this.#out.orchestratorItems.push(...this.#lateEvents);
    } else if (parent && t.report) {
      this.#out.orchestratorItems.push(
        t.report.ok ? { type: "SubOrchCompleted", ...parent, result: t.report.result } : { type: "SubOrchFailed", ...parent, details: t.report.details },
      );
    }
    this.#finished = true;
    return this.#out.take(t.status, t.output, t.failure);
  }

  /** The turn's delta was stored: it now counts as persisted history. */
  commit(): void {
    this.#persistedLen = this.#eventCount;
  }

  // ------------------------------------------------------------------ internals: inputs

  #onStarted(ev: EventOf<"OrchestrationStarted">): void {
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
    if (this.#ending) return;
    this.#dirty = true;
    this.#end(endingOfResult(s));
  }

  #end(e: Ending): void {
    this.#ending = laterEnding(this.#ending, e);
  }

  /**
   * A live message: the event it becomes, appended, then delivered exactly as a replayed event is.
   * Messages for another execution, for a schedule this execution does not wait on, or a second
   * completion of one, are dropped (they record nothing).
   */
  #takeMessage(m: WorkItem): void {
    const me = eventOfMessage(m);
    if (!me) return; // starts and continue-as-new begin executions (engine.ts); a duplicate start is ignored
    if (me.executionId !== null && me.executionId !== this.executionId) return;
    if (me.sourceEventId !== null) {
      const sched = this.#schedules.bound(me.sourceEventId);
      if (!sched || !completionFits(sched.kind, me.kind.type)) return;
    }
    this.#applyEvent(this.#append(me.kind, me.sourceEventId));
  }

  /** An input event (replayed or just appended) reaches the code. Replayed history is checked here. */
  #applyEvent(e: HistoryEvent): void {
    this.#eventTime = e.timestampMs;
    switch (e.type) {
      case "ActivityCompleted":
      case "ActivityFailed":
      case "TimerFired":
      case "SubOrchestrationCompleted":
      case "SubOrchestrationFailed": {
        const sched = e.sourceEventId === null ? undefined : this.#schedules.bound(e.sourceEventId);
        if (!sched && e.sourceEventId !== null && this.#schedules.isDone(e.sourceEventId))
          throw new Divergence(`history has a second completion for event ${e.sourceEventId}`);
        if (!sched) throw new Divergence(`history has ${e.type} for event ${e.sourceEventId}, which the code never scheduled`);
        if (!completionFits(sched.kind, e.type))
          throw new Divergence(`history has ${e.type} for event ${e.sourceEventId}, but the code scheduled a ${sched.kind} there`);
        // A cancelled task's late result is recorded, not delivered.
        if (sched.state === "open") this.#deliverCompletion(sched, e);
        else this.#schedules.markDone(sched);
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
        this.#end({ kind: "cancelled", reason: e.reason });
        return;
      case "OrchestrationStarted":
        throw new Divergence(`corrupted history: a second OrchestrationStarted at event ${e.eventId}`);
      default:
        if (isTerminalEvent(e)) throw new Divergence(`cannot replay a finished execution (event ${e.eventId} is ${e.type})`);
    }
  }

  #deliverCompletion(sched: Schedule, e: HistoryEvent): void {
    this.#schedules.markDone(sched);
    this.#dirty = true;
    const f = sched.future!;
    switch (e.type) {
      case "ActivityCompleted":
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
          this.#end({ kind: "broken", details });
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
    if (this.#probe) this.#lastCall = callerLocation();
    const d: Decision = future ? { body, future } : { body };
    if (!this.#decisions.next) this.#checkHistoryRoom(body);
    const e = this.#decisions.take();
    if (e) {
      if (!decisionMatches(body, e)) {
        const err = new Divergence(
          `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code tried to ${describeDecision(body)}`,
          callerLocation(),
        );
        this.#fail(err);
        throw err;
      }
      this.#bind(d, e);
      if (body.type === "ActivityScheduled") this.#decisions.checkTagLater(d);
    } else if (this.#live) {
      this.#record(d);
    } else {
      this.#decisions.defer(d);
    }
    return d;
  }

  /** Bind a decision to its (replayed or new) event: what it waits for, or the value it reads. */
  #bind(d: Decision, e: HistoryEvent): void {
    d.event = e;
    const f = d.future;
    switch (e.type) {
      case "ActivityScheduled":
      case "TimerCreated":
      case "SubOrchestrationScheduled":
      case "ExternalSubscribed":
      case "QueueSubscribed":
        this.#schedules.bind(e, f!);
        return;
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

  /** A new decision becomes a new event, then sends its work (or withdraws work it cancels). */
  #record(d: Decision): void {
    const { kind, sourceEventId } = eventOfDecision(d.body, {
      now: this.#clock(),
      instance: this.instance,
      nextEventId: this.#nextEventId,
      newGuid: this.#newGuid,
    });
    const e = this.#append(kind, sourceEventId);
    this.#bind(d, e);
    const work = workFor(e, this);
    if (work) d.workItem = this.#out.send(work);
    else if (d.body.type === "ActivityCancelRequested") this.#withdrawActivity(d.body.target, e.sourceEventId!);
    else if (d.body.type === "SubOrchestrationCancelRequested") this.#cancelChild(d.body.target, "parent dropped sub-orchestration future");
  }

  #withdrawActivity(target: Decision, activityId: number): void {
    // Scheduled and cancelled in the same turn: it never reaches the queue.
    if (this.#out.unsend(target.workItem)) return;
    this.#out.cancelledActivities.push({ instance: this.instance, executionId: this.executionId, activityId });
  }

  #cancelChild(target: Decision, reason: string): void {
    if (this.#out.unsend(target.workItem)) return;
    const child = target.event && target.event.type === "SubOrchestrationScheduled" ? target.event.instance : undefined;
    if (child) this.#out.orchestratorItems.push({ type: "CancelInstance", instance: child, reason });
  }

  #goLive(): void {
    this.#live = true;
    // Every persisted decision has been matched; new decisions start after them.
    for (const d of this.#decisions.goLive()) this.#record(d);
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

  /** Append a new event through the factory, keeping the schedule table and the turn's delta in step. */
  #append<K extends EventKind>(kind: K, sourceEventId: number | null): EventEnvelope & K {
    const e = newEvent(
      { instanceId: this.instance, executionId: this.executionId, eventId: this.#nextEventId++, sourceEventId, timestampMs: this.#clock() },
      kind,
    );
    this.#eventCount++;
    // The code next runs because of this input: its Date.now() is this event's time, live and on replay.
    if (!isDecisionEvent(e)) this.#eventTime = e.timestampMs;
    this.#historyBytes += historyPayloadBytes(kind);
    this.#schedules.noteEvent(e);
    this.#out.delta.push(e);
    return e;
  }

  // ------------------------------------------------------------------ internals: ending

  /** Cancel what is still outstanding when the execution ends (the terminal event comes after). */
  #cancelOutstanding(activityReason: string, childReason: string, dropsDetachedStarts: boolean): void {
    const out = this.#out;
    // Rows are tracked from every event, so this holds even when replay stopped early.
    const rows = [...this.#schedules.rows()];
    const openActivities = rows.filter((r) => r.kind === "activity" && r.workOutstanding).map((r) => r.eventId);
    const openChildren = rows.filter((r) => r.kind === "subOrchestration" && r.workOutstanding);
    // Work created this turn that no longer matters is simply not sent.
    const open = new Set(openActivities);
    const newActivityIds = new Set<number>();
    out.workerItems = out.workerItems.filter((w) => {
      if (w.type === "ActivityExecute" && open.has(w.id)) {
        newActivityIds.add(w.id);
        return false;
      }
      return true;
    });
    const newChildren = new Set<string>();
    out.orchestratorItems = out.orchestratorItems.filter((w) => {
      if (w.type === "TimerFired") return false;
      if (w.type === "StartOrchestration" && w.parent !== null) {
        newChildren.add(w.instance);
        return false;
      }
      if (w.type === "StartOrchestration" && dropsDetachedStarts) return false;
      return true;
    });
    for (const id of openActivities) {
      this.#append({ type: "ActivityCancelRequested", reason: activityReason }, id);
      if (!newActivityIds.has(id))
        out.cancelledActivities.push({ instance: this.instance, executionId: this.executionId, activityId: id });
    }
    for (const r of openChildren) {
      this.#append({ type: "SubOrchestrationCancelRequested", reason: childReason }, r.eventId);
      if (!newChildren.has(r.childInstance!)) out.orchestratorItems.push({ type: "CancelInstance", instance: r.childInstance!, reason: childReason });
    }
    for (const r of rows) {
      if (r.state !== "open") continue;
      if (r.kind === "wait") this.#append({ type: "ExternalSubscribedCancelled", reason: "orchestration_terminal" }, r.eventId);
      if (r.kind === "queue") this.#append({ type: "QueueSubscriptionCancelled", reason: "orchestration_terminal" }, r.eventId);
    }
  }

  #fail(err: unknown): void {
    if (this.#ending?.kind === "broken") return;
    if (err instanceof Divergence) this.#end({ kind: "broken", details: ErrorDetails.nondeterminism(err.message, this.orchestrationName, err.location) });
    else this.#end({ kind: "broken", details: ErrorDetails.infrastructure("replay", errorMessage(err), false) });
  }

  /** The failure that broke the execution (nondeterminism, a system error), if any. */
  #broken(): ErrorDetails | null {
    return this.#ending?.kind === "broken" ? this.#ending.details : null;
  }

  #checkInTurn(what: DecisionBody | string): void {
    if (!this.#turnActive) {
      const action = typeof what === "string" ? what : describeDecision(what);
      this.#outOfTurn ??= `the orchestration tried to ${action} outside of a turn: it awaited something that is not a durable task (use ctx.scheduleTimer / activities instead of setTimeout, fetch, or other promises)`;
      throw new Error(this.#outOfTurn);
    }
    if (this.#ending) throw new Error("the orchestration has already ended");
  }

  /** Let every microtask the delivery caused run, then verify tags of replayed activities. */
  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      await new Promise<void>((r) => engineSetImmediate(r));
    }
    for (const d of this.#decisions.takeTagChecks()) {
      const e = d.event as Extract<HistoryEvent, { type: "ActivityScheduled" }>;
      const b = d.body as Extract<DecisionBody, { type: "ActivityScheduled" }>;
      if ((e.tag ?? undefined) !== (b.tag ?? undefined))
        throw new Divergence(
          `history has ${describeEvent(e)} at event ${e.eventId}, but the orchestration code tried to ${describeDecision(b)}`,
        );
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
    const s = this.#schedules.ofFuture(f);
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
      const s = this.#schedules.ofFuture(future);
      if (s) this.#schedules.markDone(s);
      this.#dirty = true;
      future._settle({ ok: true, value: decodeJson(data) });
    });
  }

  #requestContinueAsNew(input: string, version: string | null): void {
    this.#checkInTurn("continue as new");
    this.#end({ kind: "continuedAsNew", input, version });
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
    const e = this.#decisions.next;
    if (e) {
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

/** What a terminal event says, for comparing an ending with the stored one. */
function terminalPayload(e: HistoryEvent): string {
  if (e.type === "OrchestrationCompleted") return e.output;
  if (e.type === "OrchestrationContinuedAsNew") return e.input;
  if (e.type === "OrchestrationFailed") return JSON.stringify(e.details);
  return "";
}

export const errorMessage = thrownMessage;
