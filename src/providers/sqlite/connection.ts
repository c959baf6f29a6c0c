// The SQLite store's connection: opening a file or in-memory store (driver loaded on use, pragmas,
// WAL, migrations, the checkpointer thread), the prepared-statement cache, write transactions and
// closing. The role files (orchestratorQueue, workerQueue, history, reads) run their SQL on it.
//
// Every multi-statement operation runs as ONE `BEGIN IMMEDIATE` transaction (or, group-committed,
// as a savepoint of one), so several processes may share a file store safely (the write lock
// serialises them; busy_timeout makes them wait).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";

import { REAL_CLOCK, type Clock } from "../../model/clock.js";
import { ProviderError } from "../../model/errors.js";
import { loadDriver } from "../driver.js";
import { WalCheckpointer } from "./checkpointer.js";
import { GroupCommit } from "./groupCommit.js";
import { toProviderError } from "./errors.js";
import { migrate } from "./schema.js";
import { parseSqliteUrl } from "./url.js";

export interface SqliteProviderOptions {
  /**
   * `NORMAL` (default, with WAL): committed data survives a process crash; the last transactions
   * may be lost on power failure or OS crash. `FULL`: every commit is fsynced, so it also
   * survives power loss, at some cost in write throughput.
   */
  synchronous?: "NORMAL" | "FULL";
  /**
   * How often a background thread checkpoints the WAL (default 250 ms). 0 turns it off and leaves
   * checkpoints to SQLite's automatic ones inside commits (which block the event loop while they
   * fsync).
   */
  checkpointIntervalMs?: number;
  /**
   * Time for the orchestrator queue's visibility (durable timers, delayed messages) and for stored
   * timestamps (default real time). Locks and leases always use real time, so a clock that jumps
   * never expires a lock that is still held.
   */
  clock?: Clock;
}

export type Stmt = Database.Statement<unknown[], unknown>;

/**
 * Switches a file to WAL mode. The switch needs the file to itself, and SQLite answers SQLITE_BUSY
 * at once (the busy timeout does not apply) while another process is opening or switching the
 * same new file, so several processes opening a new store together retry here, briefly.
 */
async function switchToWal(db: Database.Database, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 0; ; n++) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((code !== "SQLITE_BUSY" && code !== "SQLITE_LOCKED") || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** n, 100) * (0.5 + Math.random())));
    }
  }
}

const sqliteDriver = (): typeof Database => loadDriver<typeof Database>("better-sqlite3", "SqliteProvider");

export class SqliteConnection {
  readonly #statements = new Map<string, Stmt>();
  #checkpointer: WalCheckpointer | null = null;
  /** Writes that share one commit (acks, starts); fetches join them. */
  readonly commits: GroupCommit;

  private constructor(
    readonly db: Database.Database,
    /** Absolute path of the database file, or ":memory:". */
    readonly location: string,
    /** Time for queue visibility and stored timestamps (locks use real time). */
    readonly clock: Clock,
  ) {
    this.commits = new GroupCommit(db);
  }

  /** Opens (creating if needed) a file store. See `parseSqliteUrl` for the accepted forms. */
  static async open(url: string, options: SqliteProviderOptions): Promise<SqliteConnection> {
    let loc;
    try {
      loc = parseSqliteUrl(url);
    } catch (err) {
      throw new ProviderError("open", (err as Error).message, false);
    }
    if (loc.kind === "memory") return SqliteConnection.inMemory(options);
    const Database = sqliteDriver();
    try {
      mkdirSync(dirname(loc.path), { recursive: true });
      const db = new Database(loc.path);
      try {
        db.pragma("busy_timeout = 10000");
        await switchToWal(db);
        db.pragma(`synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
        db.pragma("cache_size = -65536");
        db.pragma("temp_store = MEMORY");
        db.pragma("foreign_keys = OFF");
        migrate(db);
      } catch (err) {
        db.close();
        throw err;
      }
      const conn = new SqliteConnection(db, loc.path, options.clock ?? REAL_CLOCK);
      const interval = options.checkpointIntervalMs ?? 250;
      if (interval > 0) {
        // The background thread checkpoints; the main connection keeps a large backstop only.
        db.pragma("wal_autocheckpoint = 20000");
        db.pragma("journal_size_limit = 67108864");
        conn.#checkpointer = new WalCheckpointer(loc.path, interval);
      }
      return conn;
    } catch (err) {
      throw toProviderError("open", err);
    }
  }

  /** A private in-memory store (lost on close). */
  static inMemory(options: SqliteProviderOptions): SqliteConnection {
    const Database = sqliteDriver();
    try {
      const db = new Database(":memory:");
      db.pragma("journal_mode = MEMORY");
      db.pragma("synchronous = OFF");
      db.pragma("foreign_keys = OFF");
      migrate(db);
      return new SqliteConnection(db, ":memory:", options.clock ?? REAL_CLOCK);
    } catch (err) {
      throw toProviderError("open", err);
    }
  }

  /** The prepared statement for `sql`, prepared once. */
  stmt(sql: string): Stmt {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** `fn` as one `BEGIN IMMEDIATE` transaction (build once, call often). */
  immediate<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const t = this.db.transaction(fn);
    return (...args: A) => t.immediate(...args);
  }

  async close(): Promise<void> {
    this.commits.flush();
    this.#statements.clear();
    await this.#checkpointer?.close();
    this.db.close();
  }
}
