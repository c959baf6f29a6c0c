// The PostgreSQL store's connection: the pool (driver loaded on use, int8 columns as numbers,
// prepared statements, migrations on open), the schema's table names and advisory-lock prefix,
// and write transactions that hand their wake-ups on after COMMIT. The role files
// (orchestratorQueue, workerQueue, history, reads) run their SQL on it.
import type pg from "pg";
import type { Pool, PoolClient, QueryResultRow } from "pg";

import { ProviderError } from "../../model/errors.js";
import type { ProviderNotification } from "../provider.js";
import { pgDriver } from "./driver.js";
import { isConnectionError, toProviderError } from "./errors.js";
import type { PgGroupCommit } from "./groupCommit.js";
import { migrate } from "./migrations.js";
import { preparedStatementClient } from "./preparedClient.js";
import { tablesOf, validateSchemaName, type Tables } from "./schemaName.js";

export interface PostgresProviderOptions {
  /** Pool size (default 10). The LISTEN connection is extra. */
  maxConnections?: number;
  /** `application_name` reported to the server (default "duroxide"). */
  applicationName?: string;
  /** Cross-process wake-ups over LISTEN/NOTIFY (default true). NOTIFY is always sent. */
  listen?: boolean;
  /** Milliseconds to wait for a pooled connection before failing retryably (default 30000). */
  connectionTimeoutMs?: number;
}

/** Something that runs parameterised queries: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * A call of one of the store's functions whose rows come back as one JSON column `r` each (the
 * shape dx_batch gives them too). The driver then parses one JSON text per row instead of a row
 * description and each column on every call (arrays element by element).
 */
export function jsonRowSql(call: string): string {
  return `SELECT to_json(x) AS r FROM ${call} x`;
}

/** A row of a `jsonRowSql` query. */
export interface JsonRow<R> {
  r: R;
}

/** Wake-ups a transaction produces: NOTIFYed and delivered locally after COMMIT. */
export type TxNotes = ProviderNotification[];

/** Ends a transaction with ROLLBACK instead of COMMIT, returning `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/** int8 columns parsed to numbers (all our int8 values are ms timestamps, ids and counts). */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 && format !== "binary") return (v: string) => Number(v);
    return (pgDriver().types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

/** A pool on `connection` whose `schema` exists and is migrated. */
export async function openPool(connection: pg.ClientConfig, schema: string, options: PostgresProviderOptions): Promise<Pool> {
  validateSchemaName(schema);
  const max = options.maxConnections ?? 10;
  if (!Number.isInteger(max) || max < 1) {
    throw new ProviderError("connect", `maxConnections must be a positive integer, got ${String(max)}`, false);
  }
  const driver = pgDriver();
  const pool = new driver.Pool({
    ...connection,
    max,
    Client: preparedStatementClient(driver),
    // Idle connections must not keep the process alive (a script that never closes its
    // provider still exits); a checked-out client, i.e. work in progress, does.
    allowExitOnIdle: true,
    application_name: options.applicationName ?? "duroxide",
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 30_000,
    types: TYPES,
  });
  // An idle client losing its connection must not crash the process; the pool discards it.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migrate(client, schema);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw toProviderError("connect", err);
  }
  return pool;
}

export class PgConnection {
  /** Quoted names of the schema's tables. */
  readonly t: Tables;
  /** Prefix of the advisory-lock keys of instances (fetch, ack and abandon take them). */
  readonly lockPrefix: string;
  constructor(
    readonly pool: Pool,
    readonly schema: string,
    /** Acks, worker acks and creations that come together share one call and one commit. */
    readonly writes: PgGroupCommit,
    /** Told the notes of each committed transaction. */
    private readonly onCommit: (notes: TxNotes) => void,
  ) {
    this.t = tablesOf(schema);
    this.lockPrefix = `duroxide:${schema}:instance:`;
  }

  /**
   * Runs `fn` in one transaction. Returning a `Rollback` rolls back instead of committing.
   * `notes` (set by fn through the accumulator) are given to local listeners and NOTIFYed after
   * the COMMIT. `asyncCommit` skips waiting for the WAL flush: only for transactions
   * whose loss in a server crash is harmless (fetches: a lost lock is simply not held).
   */
  async tx<R>(fn: (c: PoolClient, notes: TxNotes) => Promise<R | Rollback<R>>, asyncCommit = false): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const notes: TxNotes = [];
    try {
      await client.query(asyncCommit ? "BEGIN; SET LOCAL synchronous_commit TO OFF" : "BEGIN");
      let result: R | Rollback<R>;
      try {
        result = await fn(client, notes);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
      if (result instanceof Rollback) {
        await client.query("ROLLBACK");
        return result.value;
      }
      await client.query("COMMIT");
      this.committed(notes);
      return result;
    } catch (err) {
      if (isConnectionError(err)) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Hands on the wake-ups of a write that committed outside `tx` (one autocommitted statement). */
  committed(notes: TxNotes): void {
    this.onCommit(notes);
  }
}

/**
 * Idle pool sockets and the LISTEN connection are unref'd (process lifetime), so nothing else may
 * hold the event loop while a caller awaits work on them alone (closing, connecting the listener):
 * without this, the process would end with the caller's promise pending.
 */
export async function holdingEventLoop<T>(work: () => Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 60_000);
  try {
    return await work();
  } finally {
    clearInterval(hold);
  }
}
