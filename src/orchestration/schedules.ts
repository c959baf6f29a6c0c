// The schedule table: one row per schedule event of an execution (activity, timer, sub-orchestration,
// event wait, queue wait), from the event that opened it until it completes.
//
// A row answers two questions that differ only when replay stops early (the code ended before its
// history did): is a future of the code waiting on it (`state`), and is the work it started still
// outstanding in history (`workOutstanding`: an activity or child with no completion or cancel
// request yet, which an ending must cancel). Completed rows are dropped and only their ids kept,
// so a long history stays cheap to hold and a second completion can still be named precisely.
import type { HistoryEvent } from "../model/events.js";
import type { DurableFuture } from "./future.js";

export type ScheduleKind = "activity" | "timer" | "wait" | "queue" | "subOrchestration";

export interface Schedule {
  readonly kind: ScheduleKind;
  readonly eventId: number;
  /** Activity or sub-orchestration name, wait/queue name. */
  readonly name: string;
  /** Sub-orchestrations: the child's instance id. */
  readonly childInstance?: string;
  /** The future waiting on it; null until the code reaches the decision (history is read first). */
  future: DurableFuture<unknown> | null;
  /** unbound: known from history only; open: the future waits; cancelled: the code dropped it. */
  state: "unbound" | "open" | "cancelled";
  workOutstanding: boolean;
}

export class ScheduleTable {
  #rows = new Map<number, Schedule>();
  #byFuture = new Map<DurableFuture<unknown>, Schedule>();
  #done = new Set<number>();

  /** Keep rows in step with an event of this execution (replayed or new), before it is delivered. */
  noteEvent(e: HistoryEvent): void {
    switch (e.type) {
      case "ActivityScheduled":
        this.#open(e.eventId, "activity", e.name, true);
        return;
      case "SubOrchestrationScheduled":
        this.#open(e.eventId, "subOrchestration", e.name, true, e.instance);
        return;
      case "ActivityCompleted":
      case "ActivityFailed":
      case "ActivityCancelRequested":
      case "SubOrchestrationCompleted":
      case "SubOrchestrationFailed":
      case "SubOrchestrationCancelRequested": {
        const row = e.sourceEventId === null ? undefined : this.#rows.get(e.sourceEventId);
        if (row) row.workOutstanding = false;
        return;
      }
      default:
        return;
    }
  }

  /** The code's future for a schedule event (matched on replay or new). */
  bind(e: HistoryEvent, future: DurableFuture<unknown>): void {
    let kind: ScheduleKind;
    let name = "";
    switch (e.type) {
      case "ActivityScheduled":
        kind = "activity";
        name = e.name;
        break;
      case "TimerCreated":
        kind = "timer";
        break;
      case "SubOrchestrationScheduled":
        kind = "subOrchestration";
        name = e.name;
        break;
      case "ExternalSubscribed":
        kind = "wait";
        name = e.name;
        break;
      case "QueueSubscribed":
        kind = "queue";
        name = e.name;
        break;
      default:
        return;
    }
    // A wait may already have been satisfied from buffered messages before binding.
    if (future.isSettled && !future.isCancelled) {
      this.#rows.delete(e.eventId);
      this.#done.add(e.eventId);
      return;
    }
    const row = this.#rows.get(e.eventId) ?? this.#open(e.eventId, kind, name, false);
    row.future = future;
    row.state = future.isCancelled ? "cancelled" : "open";
    this.#byFuture.set(future, row);
  }

  /** A row the code is bound to (open or cancelled), by schedule event id. */
  bound(eventId: number): Schedule | undefined {
    const row = this.#rows.get(eventId);
    return row && row.state !== "unbound" ? row : undefined;
  }

  ofFuture(future: DurableFuture<unknown>): Schedule | undefined {
    return this.#byFuture.get(future);
  }

  isDone(eventId: number): boolean {
    return this.#done.has(eventId);
  }

  /** Completed: the row goes, its id stays. */
  markDone(row: Schedule): void {
    this.#rows.delete(row.eventId);
    if (row.future) this.#byFuture.delete(row.future);
    this.#done.add(row.eventId);
  }

  /** Is any future of the code still waiting on a schedule? */
  hasOpen(): boolean {
    for (const row of this.#rows.values()) if (row.state === "open") return true;
    return false;
  }

  /** Rows in schedule order (event ids grow with appends, so insertion order is that order). */
  rows(): Iterable<Schedule> {
    return [...this.#rows.values()].sort((a, b) => a.eventId - b.eventId);
  }

  #open(eventId: number, kind: ScheduleKind, name: string, workOutstanding: boolean, childInstance?: string): Schedule {
    const row: Schedule = {
      kind,
      eventId,
      name,
      ...(childInstance !== undefined ? { childInstance } : {}),
      future: null,
      state: "unbound",
      workOutstanding,
    };
    this.#rows.set(eventId, row);
    return row;
  }
}
