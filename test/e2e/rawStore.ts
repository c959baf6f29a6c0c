// Writes straight into a store's tables, as damage or a crash would leave them: tests of corrupt
// rows, dead letters and the management API need rows the public API would never write.
import Database from "better-sqlite3";
import pg from "pg";
import { PostgresProvider, SqliteProvider, type Provider } from "../../src/index.js";
import { quoteIdent } from "../../src/providers/postgres/schemaName.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Runs one statement on the provider's own database, outside the provider. Write it once for both
 * stores: unqualified table names and `$1…$n` placeholders used in order.
 */
export async function rawWrite(provider: Provider, sql: string, params: unknown[]): Promise<void> {
  if (provider instanceof SqliteProvider) {
    const db = new Database(provider.location);
    try {
      db.prepare(sql.replace(/\$\d+/g, "?")).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  if (!(provider instanceof PostgresProvider)) throw new Error("rawWrite: not a SQLite or PostgreSQL provider");
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`SET search_path TO ${quoteIdent(provider.schema)}`);
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Inserts one orchestrator-queue dead letter with the given stored payload and reason. */
export async function plantDeadLetter(provider: Provider, instance: string, payload: string, error: string): Promise<void> {
  await rawWrite(
    provider,
    "INSERT INTO dead_letters (queue, original_id, instance_id, payload, error, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    ["orchestrator", 1, instance, payload, error, Date.now()],
  );
}
