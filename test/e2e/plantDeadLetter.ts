// Writes a dead letter straight into a store, as its fetch path does when it sets a message aside
// (tests of the dead-letter management API and the CLI need one without corrupting a live queue).
import Database from "better-sqlite3";
import pg from "pg";
import { PostgresProvider, SqliteProvider, type Provider } from "../../src/index.js";
import { quoteIdent } from "../../src/providers/postgres/schemaName.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** Inserts one orchestrator-queue dead letter with the given stored payload and reason. */
export async function plantDeadLetter(provider: Provider, instance: string, payload: string, error: string): Promise<void> {
  const row = ["orchestrator", 1, instance, payload, error, Date.now()];
  if (provider instanceof SqliteProvider) {
    const db = new Database((provider as unknown as { location: string }).location);
    try {
      db.prepare("INSERT INTO dead_letters (queue, original_id, instance_id, payload, error, created_at) VALUES (?, ?, ?, ?, ?, ?)").run(...row);
    } finally {
      db.close();
    }
    return;
  }
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const schema = quoteIdent((provider as PostgresProvider).schema);
    await c.query(`INSERT INTO ${schema}.dead_letters (queue, original_id, instance_id, payload, error, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, row);
  } finally {
    await c.end();
  }
}
