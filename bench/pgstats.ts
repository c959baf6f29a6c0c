// What one benchmark run costs the PostgreSQL server: each run gets a database of its own, so the
// server's per-database counters (commits, statements) and the CPU time of that database's
// backend processes can be attributed to the run alone, whichever system made them.
import { readFileSync } from "node:fs";
import pg from "pg";
import { round } from "./stats.js";

export interface PgUsage {
  /** CPU time (user + system) of the backends serving the database, when /proc can be read. */
  backendCpuMs: number | null;
  /** Committed transactions in the database (each autocommit statement is one). */
  commits: number;
  /** Statements executed, from pg_stat_statements when the server preloads it. */
  statements: number | null;
  /**
   * pg_stat_statements evicted entries during the run (its table was full, as on a server shared
   * with many databases): an evicted statement's calls are lost, so `statements` may be low.
   */
  statementsEvicted: boolean;
  /** backendCpuMs split by the backends' application_name (null when /proc is not readable). */
  backendCpuMsByApplication: Record<string, number> | null;
}

const CLOCK_TICKS_PER_SEC = 100; // Linux USER_HZ

function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = "/postgres";
  return u.toString();
}

export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl(url) });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A throwaway database for one run; `drop()` removes it even if clients are still connected. */
export class ThrowawayDatabase {
  private constructor(
    readonly serverUrl: string,
    readonly name: string,
  ) {}

  get url(): string {
    return databaseUrl(this.serverUrl, this.name);
  }

  static async create(serverUrl: string, prefix: string): Promise<ThrowawayDatabase> {
    const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
    await withAdmin(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
    return new ThrowawayDatabase(serverUrl, name);
  }

  async drop(): Promise<void> {
    await withAdmin(this.serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`));
  }
}

/** A backend's CPU ticks; undefined when it has exited meanwhile; null when /proc is not readable. */
function procCpuTicks(pid: number): number | null | undefined {
  try {
    // Fields after the command name (which may contain spaces) start at state; utime and stime
    // are fields 14 and 15 of the whole line.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? undefined : null;
  }
}

/**
 * Samples a database's backends while a run is under way (a backend's CPU time is lost when it
 * exits, so the last reading of each one is kept), and reads the server's counters at the end.
 */
export class PgUsageSampler {
  readonly #ticks = new Map<number, number>();
  readonly #application = new Map<number, string>();
  /** Readings at start(): backends already connected (pool, migrations) count from there. */
  readonly #base = new Map<number, number>();
  /** The database's counters at start(): what came before (schema set-up, a warm-up) is not counted. */
  #baseCommits = 0;
  #baseStatements: number | null = null;
  #baseDealloc: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #procReadable = true;
  #client: pg.Client | null = null;
  #sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly serverUrl: string,
    private readonly database: string,
  ) {}

  async start(everyMs = 100): Promise<void> {
    this.#client = new pg.Client({ connectionString: adminUrl(this.serverUrl) });
    this.#client.on("error", () => undefined);
    await this.#client.connect();
    await this.#sample();
    for (const [pid, t] of this.#ticks) this.#base.set(pid, t);
    const counters = await this.#counters(this.#client);
    this.#baseCommits = counters.commits;
    this.#baseStatements = counters.statements;
    this.#baseDealloc = counters.dealloc;
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(() => this.#sample()).catch(() => undefined);
    }, everyMs);
  }

  async #sample(): Promise<void> {
    if (!this.#client) return;
    const r = await this.#client.query<{ pid: number; application_name: string }>(
      "SELECT pid, application_name FROM pg_stat_activity WHERE datname = $1",
      [this.database],
    );
    for (const { pid, application_name } of r.rows) {
      const t = procCpuTicks(pid);
      if (t === null) this.#procReadable = false;
      else if (t !== undefined) {
        this.#ticks.set(pid, t);
        this.#application.set(pid, application_name);
      }
    }
  }

  async #counters(c: pg.Client): Promise<{ commits: number; statements: number | null; dealloc: number | null }> {
    // The server publishes a backend's counters when its transaction ends (and at exit), not live.
    await c.query("SELECT pg_stat_clear_snapshot()");
    const db = await c.query<{ commits: string }>("SELECT xact_commit::text AS commits FROM pg_stat_database WHERE datname = $1", [this.database]);
    let statements: number | null = null;
    try {
      const s = await c.query<{ n: string | null }>(
        "SELECT sum(calls)::text AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
        [this.database],
      );
      statements = Number(s.rows[0]?.n ?? 0);
    } catch {
      statements = null; // pg_stat_statements not preloaded / not created in the postgres database
    }
    let dealloc: number | null = null;
    try {
      const d = await c.query<{ dealloc: string }>("SELECT dealloc::text FROM pg_stat_statements_info");
      dealloc = Number(d.rows[0]?.dealloc ?? 0);
    } catch {
      dealloc = null; // before PostgreSQL 14, or the extension is missing
    }
    return { commits: Number(db.rows[0]?.commits ?? 0), statements, dealloc };
  }

  /** Call after the run's processes have closed their connections. */
  async stop(): Promise<PgUsage> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#sampling;
    const c = this.#client;
    if (!c) throw new Error("sampler not started");
    try {
      await this.#sample();
      // Exited backends flush their counters at exit; a short pause lets the last ones land.
      await new Promise((r) => setTimeout(r, 300));
      const counters = await this.#counters(c);
      let ticks = 0;
      const byApplication: Record<string, number> = {};
      for (const [pid, t] of this.#ticks) {
        const d = t - (this.#base.get(pid) ?? 0);
        ticks += d;
        const app = this.#application.get(pid) ?? "";
        byApplication[app] = (byApplication[app] ?? 0) + (d * 1000) / CLOCK_TICKS_PER_SEC;
      }
      const readable = this.#procReadable && this.#ticks.size > 0;
      return {
        backendCpuMs: readable ? (ticks * 1000) / CLOCK_TICKS_PER_SEC : null,
        commits: counters.commits - this.#baseCommits,
        statements: counters.statements === null ? null : counters.statements - (this.#baseStatements ?? 0),
        statementsEvicted: counters.dealloc !== null && this.#baseDealloc !== null && counters.dealloc > this.#baseDealloc,
        backendCpuMsByApplication: readable ? byApplication : null,
      };
    } finally {
      await c.end().catch(() => undefined);
      this.#client = null;
    }
  }
}

/** The server's share of a run, per orchestration (comparable across systems). */
export function perOrchestration(u: PgUsage, orchestrations: number): Record<string, number | null> {
  return {
    pgBackendCpuMsPerOrch: u.backendCpuMs === null ? null : round(u.backendCpuMs / orchestrations, 3),
    pgCommitsPerOrch: round(u.commits / orchestrations, 2),
    pgStatementsPerOrch: u.statements === null ? null : round(u.statements / orchestrations, 2),
  };
}
