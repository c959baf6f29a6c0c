// Where the code stands against the decisions recorded in history. Decisions are matched by
// position: the code's n-th decision must reproduce the n-th decision event. Decisions made past
// the recorded ones are new; made during replay, they wait until the execution goes live.
import { isDecisionEvent, type HistoryEvent } from "../model/events.js";
import type { Decision } from "./decisions.js";

const NONE: readonly Decision[] = [];

export class DecisionCursor {
  #recorded: readonly HistoryEvent[] = [];
  #made = 0;
  #waiting: Decision[] = [];
  #tagChecks: Decision[] = [];

  load(history: readonly HistoryEvent[]): void {
    this.#recorded = history.filter((e) => isDecisionEvent(e));
  }

  /** Decisions the code has made (once live: the new ones). */
  get made(): number {
    return this.#made;
  }

  /** The recorded decision at the code's next position; undefined past the recorded ones. */
  get next(): HistoryEvent | undefined {
    return this.#recorded[this.#made];
  }

  /** Take the next position: the recorded decision there, or undefined for a new decision. */
  take(): HistoryEvent | undefined {
    return this.#recorded[this.#made++];
  }

  /** A new decision made while replaying: recorded when the execution goes live. */
  defer(d: Decision): void {
    this.#waiting.push(d);
  }

  /** A matched activity whose tag is compared once the step has settled. */
  checkTagLater(d: Decision): void {
    d.verifyTag = true;
    this.#tagChecks.push(d);
  }

  takeTagChecks(): readonly Decision[] {
    if (this.#tagChecks.length === 0) return NONE;
    const checks = this.#tagChecks;
    this.#tagChecks = [];
    return checks;
  }

  /** Replay matched every recorded decision: counting restarts, and the deferred decisions come out. */
  goLive(): Decision[] {
    this.#made -= this.#recorded.length;
    this.#recorded = [];
    const waiting = this.#waiting;
    this.#waiting = [];
    return waiting;
  }
}
