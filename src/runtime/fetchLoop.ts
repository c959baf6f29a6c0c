// The dispatch loop both dispatchers share: one fetcher feeds up to `slots.size` handlers at a
// time, sleeps on the wake signal when the queue is empty (or the last fetch said it drained it),
// and backs off on provider errors. With a batch fetch, one call fills every free slot.
import type { Slots } from "./slots.js";
import type { WakeSignal } from "./signal.js";
import { sleep } from "./signal.js";

/** Most items one batch fetch asks for (bounds the time one fetch holds its locks before any runs). */
export const MAX_FETCH_BATCH = 32;

/**
 * How long an idle fetch loop sleeps between fetches. With notifications that reach across
 * processes, every write that makes work ready wakes the loop, so polling only has to catch what
 * no one announces: a lock that expired because its holder was lost. It then runs every quarter
 * of the lock timeout (at most 500 ms), so that work is taken up within 1.25 lock timeouts (plus
 * at most 500 ms); never more often than `pollIntervalMs`.
 */
export function idlePollMs(pollIntervalMs: number, notifiesAcrossProcesses: boolean, lockTimeoutMs: number): number {
  if (!notifiesAcrossProcesses) return pollIntervalMs;
  return Math.max(pollIntervalMs, Math.min(500, Math.floor(lockTimeoutMs / 4)));
}

export interface FetchLoop<T> {
  slots: Slots;
  wake: WakeSignal;
  pollIntervalMs: number;
  isRunning(): boolean;
  fetch(): Promise<T | null>;
  /**
   * Optional: fetch up to `max` (> 1) items in one call, each of which then holds one of the slots
   * taken for it. Used when more than one slot is free.
   */
  fetchMany?(max: number): Promise<T[]>;
  /** A fetch failed; `consecutive` counts failures in a row (for logging). */
  onFetchError(err: unknown, consecutive: number): void;
  /** Handle one item. Return false to give the item straight back (the slot is released). */
  admit?(item: T): Promise<boolean> | boolean;
  handle(item: T): Promise<void>;
  onHandleError(item: T, err: unknown): Promise<void>;
  /** Runs after handle (or its error handler), before the slot is released. */
  done?(item: T): void;
  /**
   * True when the fetch that returned `item` saw nothing more ready: the loop then sleeps on the
   * wake signal (or its poll) instead of making a fetch that would come back empty. Wake-ups that
   * arrive meanwhile are remembered by the signal, so none is lost.
   */
  drained?(item: T): boolean;
}

export async function runFetchLoop<T>(loop: FetchLoop<T>): Promise<void> {
  let errors = 0;
  while (loop.isRunning()) {
    await loop.slots.acquire();
    if (!loop.isRunning()) {
      loop.slots.release();
      break;
    }
    // Every other free slot too (never waiting for one): one batch fetch fills them all.
    const taken = 1 + (loop.fetchMany !== undefined ? loop.slots.tryAcquire(MAX_FETCH_BATCH - 1) : 0);
    loop.slots.fetching = taken;
    let items: T[];
    try {
      if (taken > 1 && loop.fetchMany !== undefined) items = await loop.fetchMany(taken);
      else {
        const item = await loop.fetch();
        items = item === null ? [] : [item];
      }
      errors = 0;
    } catch (err) {
      loop.slots.fetching = 0;
      for (let i = 0; i < taken; i++) loop.slots.release();
      loop.onFetchError(err, ++errors);
      // Capped at 1 s so a store that comes back is in use again within about a second.
      await sleep(Math.min(100 * 2 ** (errors - 1), 1_000));
      continue;
    }
    if (items.length > taken) items = items.slice(0, taken);
    // The slots the fetch did not fill.
    loop.slots.fetching = 0;
    for (let i = items.length; i < taken; i++) loop.slots.release();
    const last = items[items.length - 1];
    if (last === undefined) {
      await loop.wake.wait(loop.pollIntervalMs);
      continue;
    }
    for (const it of items) await dispatchItem(loop, it);
    if (loop.drained?.(last)) await loop.wake.wait(loop.pollIntervalMs);
  }
  await loop.slots.drained();
}

/**
 * Runs one item that already holds a slot (fetched by the loop, or handed over without a fetch):
 * admit, then handle in the background; the slot is released when it is done. Resolves once the
 * item is admitted (or given back).
 */
export async function dispatchItem<T>(loop: FetchLoop<T>, it: T): Promise<void> {
  if (loop.admit && !(await loop.admit(it))) {
    loop.slots.release();
    return;
  }
  // Not awaited: the loop goes on fetching while slots are free.
  void loop
    .handle(it)
    .catch((err: unknown) => loop.onHandleError(it, err))
    .catch(() => undefined)
    .finally(() => {
      loop.done?.(it);
      loop.slots.release();
    });
}
