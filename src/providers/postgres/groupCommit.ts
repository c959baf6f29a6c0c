// Group commit for the PostgreSQL store. Under load most of a small write's cost is the round trip,
// the driver's per-query work and the server's per-statement and per-commit overhead, not the
// write itself. So: while no write is in flight, a write goes out at once as its own call (no added
// latency when idle); writes that come while one is in flight wait for it and then go together as
// ONE call of dx_batch (migration 12), one statement and one commit. dx_batch applies each write in
// a subtransaction of its own: a write that raises is undone alone and is then sent again on its
// own, so its caller gets exactly the error (or result) a lone call gives, and the others commit.
// The batch is sorted by each write's advisory-lock key, so batches (of this process or another)
// take their blocking locks in one order and cannot deadlock each other; and a write of a batch
// that waits on a lock past a short lock_timeout (a deadlock with some other transaction, or a
// holder that is slow) is undone and sent again alone, beside the pipeline, so it holds up no one. A caller's promise settles
// only once the call that holds its write has returned, i.e. after its commit.
import type { Pool } from "pg";

import { isConnectionError } from "./errors.js";

/** A write as the batch function's argument: `[kind, ...args]` as JSON text (see dx_batch). */
export interface BatchedWrite<R> {
  /** The advisory-lock key the write blocks on first ("" when none or unknown): the batch order. */
  key: string;
  /** The write as one element of dx_batch's JSONB array. */
  call: () => string;
  /** The write as its own autocommitted call (today's path); also the fallback. */
  alone: () => Promise<R>;
}

interface Queued {
  write: BatchedWrite<unknown>;
  /** A NOTIFY riding along (not a write). */
  notify?: true;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Counters for tests and benchmarks. */
export interface GroupCommitStats {
  /** Writes sent as their own call. */
  alone: number;
  /** dx_batch calls, and the writes they carried. */
  batches: number;
  batchedWrites: number;
  /** Writes of a batch that raised and were sent again alone. */
  retriedAlone: number;
  /** Batches that failed as a whole and were sent again write by write. */
  batchFallbacks: number;
  /** NOTIFYs sent within a batch instead of by a call of their own. */
  notifiesAlong: number;
}

const NOTIFY_SQL = "SELECT pg_notify($1, u.b) FROM unnest($2::text[]) AS u(b)";

export class PgGroupCommit {
  #queue: Queued[] = [];
  #inFlight = 0;
  readonly stats: GroupCommitStats = { alone: 0, batches: 0, batchedWrites: 0, retriedAlone: 0, batchFallbacks: 0, notifiesAlong: 0 };
  readonly #sql: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    /** Calls in flight at once (lone writes and batches). */
    private readonly maxInFlight = 1,
    /** Writes per batch: each is a subtransaction, and PostgreSQL tracks 64 per transaction cheaply. */
    private readonly maxBatch = 32,
  ) {
    this.#sql = `SELECT ${schema}.dx_batch($1::jsonb) AS r`;
  }

  /** Runs `write` alone now, or with others once a call in flight returns; resolves after its commit. */
  run<R>(write: BatchedWrite<R>): Promise<R> {
    if (this.#inFlight < this.maxInFlight && this.#queue.length === 0) {
      this.#inFlight++;
      this.stats.alone++;
      return write.alone().finally(() => this.#done());
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ write: write as BatchedWrite<unknown>, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * NOTIFYs the wake-ups of committed writes. With writes waiting for the call in flight, they ride
   * along in the batch those go in (no call nor commit of their own); otherwise they go at once by
   * themselves, beside whatever is in flight, as before.
   */
  notify(channel: string, bodies: readonly string[]): Promise<void> {
    const alone = async (): Promise<void> => {
      await this.pool.query(NOTIFY_SQL, [channel, bodies]);
    };
    if (this.#queue.length === 0) return alone();
    return new Promise<void>((resolve, reject) => {
      const write: BatchedWrite<unknown> = { key: "", call: () => JSON.stringify(["notify", channel, bodies]), alone };
      this.#queue.push({ write, notify: true, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  #done(): void {
    this.#inFlight--;
    while (this.#inFlight < this.maxInFlight && this.#queue.length > 0) {
      const next = this.#queue.splice(0, this.maxBatch);
      this.#inFlight++;
      void this.#send(next).then((again) => {
        this.#done();
        // Sent again alone outside the pipeline: one that waits (on a lock) holds up nobody else.
        for (const w of again) void w.write.alone().then(w.resolve, w.reject);
      });
    }
  }

  /** Sends `writes`; returns those to send again alone (nothing of them is stored). Never throws. */
  async #send(writes: Queued[]): Promise<Queued[]> {
    if (writes.length === 1) {
      const w = writes[0] as Queued;
      this.stats.alone++;
      await w.write.alone().then(w.resolve, w.reject);
      return [];
    }
    writes.sort((a, b) => (a.write.key < b.write.key ? -1 : a.write.key > b.write.key ? 1 : 0));
    let calls: string;
    try {
      calls = `[${writes.map((w) => w.write.call()).join(",")}]`;
    } catch (err) {
      for (const w of writes) w.reject(err);
      return [];
    }
    let results: unknown;
    try {
      const notifies = writes.filter((w) => w.notify === true).length;
      this.stats.batches++;
      this.stats.batchedWrites += writes.length - notifies;
      this.stats.notifiesAlong += notifies;
      const res = await this.pool.query<{ r: unknown }>(this.#sql, [calls]);
      results = res.rows[0]?.r;
    } catch (err) {
      if (isConnectionError(err)) {
        // Committed or not, nobody can tell: each caller hears what a lone call would have said.
        for (const w of writes) w.reject(err);
        return [];
      }
      // Any other failure rolled the whole batch back (nothing of it is stored): one by one.
      this.stats.batchFallbacks++;
      return writes;
    }
    const rows = Array.isArray(results) && results.length === writes.length ? (results as unknown[]) : null;
    if (rows === null) {
      // Cannot happen with dx_batch; the batch committed, so its writes cannot be sent again.
      const err = new Error(`dx_batch returned ${Array.isArray(results) ? results.length : typeof results} results for ${writes.length} writes`);
      for (const w of writes) w.reject(err);
      return [];
    }
    const again: Queued[] = [];
    writes.forEach((w, k) => {
      const row = rows[k];
      // null: the write raised in its subtransaction (a lock wait past dx_batch's lock_timeout
      // among them) and was undone; it goes again alone.
      if (row === null || row === undefined) again.push(w);
      else w.resolve(row);
    });
    this.stats.retriedAlone += again.length;
    return again;
  }
}
