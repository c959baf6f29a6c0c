// What one turn produces, gathered while it runs: the new events and the work they send out. Work
// sent and withdrawn in the same turn never reaches a queue.
import type { HistoryEvent } from "../model/events.js";
import type { ErrorDetailsData } from "../model/errors.js";
import type { ExecutionStatus } from "../model/status.js";
import type { ActivityIdentity, WorkItem } from "../model/workItems.js";
import type { Work } from "./workFor.js";

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

export class TurnOutput {
  delta: HistoryEvent[] = [];
  workerItems: WorkItem[] = [];
  orchestratorItems: WorkItem[] = [];
  cancelledActivities: ActivityIdentity[] = [];

  send(w: Work): WorkItem {
    (w.queue === "worker" ? this.workerItems : this.orchestratorItems).push(w.item);
    return w.item;
  }

  /** Take back work sent this turn; false when it went out with an earlier turn. */
  unsend(item: WorkItem | undefined): boolean {
    if (!item) return false;
    for (const list of [this.workerItems, this.orchestratorItems]) {
      const i = list.indexOf(item);
      if (i >= 0) {
        list.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Hand out what was gathered and start empty for the next turn. */
  take(status: ExecutionStatus, output: string | null, failure: ErrorDetailsData | null): TurnResult {
    const r: TurnResult = {
      delta: this.delta,
      workerItems: this.workerItems,
      orchestratorItems: this.orchestratorItems,
      cancelledActivities: this.cancelledActivities,
      status,
      output,
      failure,
    };
    this.delta = [];
    this.workerItems = [];
    this.orchestratorItems = [];
    this.cancelledActivities = [];
    return r;
  }
}
