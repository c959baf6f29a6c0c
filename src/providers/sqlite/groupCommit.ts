// Group commit for the SQLite store: writes that come together share one BEGIN IMMEDIATE …
// COMMIT, which is most of what a small write costs (WAL frames, the wal-index, and the
// checkpointer's work later). Each write runs in a savepoint of its own, so one that fails is
// undone alone; its caller's promise settles only after the COMMIT that holds it, so nothing acts
// on a write before it is stored.
// A write that expects company (its caller knows other work is in flight, outstanding.ts) queues
// and goes out when the event loop is next free (setImmediate), or at once in front of a fetch,
// which runs in the same transaction and sees it. A write alone commits at once: a serial caller
// never waits for the loop.
import type Database from "better-sqlite3";

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  readonly #db: Database.Database;
  #queue: QueuedWrite[] = [];
  #scheduled = false;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    this.#savepoint = db.prepare("SAVEPOINT dx_write");
    this.#release = db.prepare("RELEASE dx_write");
    this.#rollbackTo = db.prepare("ROLLBACK TO dx_write");
  }

  /** How many writes wait for the next commit. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Runs `fn` (synchronous SQL) in a commit; resolves with its result once committed. `alone`:
   * nothing else is expected to come, so with nothing queued it commits at once; otherwise it
   * queues for the next commit.
   */
  write<R>(fn: () => R, alone: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
      if (alone && this.#queue.length === 1) {
        this.#commitQueued(null);
        return;
      }
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          if (this.#queue.length > 0) this.#commitQueued(null);
        });
      }
    });
  }

  /**
   * Runs `fn` now. With writes queued, they go first and `fn` joins their transaction (in a
   * savepoint); its error is thrown after their commit. Without, `fn` runs as it is.
   */
  now<R>(fn: () => R): R {
    if (this.#queue.length === 0) return fn();
    const o = this.#commitQueued(fn);
    if (!o.ok) throw o.error;
    return o.value as R;
  }

  /** Commits what is queued (before a close). */
  flush(): void {
    if (this.#queue.length > 0) this.#commitQueued(null);
  }

  #commitQueued(last: (() => unknown) | null): Outcome {
    const writes = this.#queue;
    this.#queue = [];
    const outcomes: Outcome[] = [];
    let lastOutcome: Outcome = { ok: true, value: undefined };
    // Set when the transaction itself is gone (failed BEGIN or COMMIT, or an error SQLite answers
    // with a rollback of everything): then no write of this batch is stored.
    let lost: { error: unknown } | null = null;
    try {
      this.#begin.run();
    } catch (error) {
      lost = { error };
    }
    if (lost === null) {
      for (const w of writes) {
        const o = this.#inSavepoint(w.run);
        outcomes.push(o);
        if (!o.ok && !this.#db.inTransaction) {
          lost = { error: o.error };
          break;
        }
      }
    }
    if (lost === null && last !== null) {
      lastOutcome = this.#inSavepoint(last);
      if (!lastOutcome.ok && !this.#db.inTransaction) lost = { error: lastOutcome.error };
    }
    if (lost === null) {
      try {
        this.#commit.run();
      } catch (error) {
        lost = { error };
        if (this.#db.inTransaction) this.#rollback.run();
      }
    }
    writes.forEach((w, k) => {
      const o = outcomes[k];
      if (o !== undefined && !o.ok) w.reject(o.error);
      else if (lost !== null) w.reject(lost.error);
      else w.resolve((o as { value: unknown }).value);
    });
    if (lost !== null && lastOutcome.ok) return { ok: false, error: lost.error };
    return lastOutcome;
  }

  #inSavepoint(fn: () => unknown): Outcome {
    this.#savepoint.run();
    try {
      const value = fn();
      this.#release.run();
      return { ok: true, value };
    } catch (error) {
      if (this.#db.inTransaction) {
        this.#rollbackTo.run();
        this.#release.run();
      }
      return { ok: false, error };
    }
  }
}
