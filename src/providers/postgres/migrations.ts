// Numbered schema migrations for the PostgreSQL provider. All pending migrations run in ONE
// transaction under a transaction-scoped advisory lock, so concurrent processes opening the same
// schema never race: the second waits, then finds nothing left to do.
import type { PoolClient } from "pg";
import { quoteIdent, tablesOf, type Tables } from "./schemaName.js";

export interface PgMigration {
  version: number;
  description: string;
  sql: (t: Tables) => string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "initial schema",
    sql: (t) => `
CREATE TABLE IF NOT EXISTS ${t.instances} (
  instance_id           TEXT PRIMARY KEY,
  orchestration_name    TEXT NOT NULL,
  orchestration_version TEXT,
  current_execution_id  BIGINT NOT NULL DEFAULT 1,
  custom_status         TEXT,
  custom_status_version BIGINT NOT NULL DEFAULT 0,
  parent_instance_id    TEXT,
  created_at            BIGINT NOT NULL,
  updated_at            BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_instances_parent ON ${t.instances} (parent_instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_created ON ${t.instances} (created_at);

CREATE TABLE IF NOT EXISTS ${t.executions} (
  instance_id  TEXT NOT NULL,
  execution_id BIGINT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'Running',
  output       TEXT,
  failure      TEXT,
  started_at   BIGINT NOT NULL,
  completed_at BIGINT,
  PRIMARY KEY (instance_id, execution_id)
);

CREATE TABLE IF NOT EXISTS ${t.history} (
  instance_id  TEXT NOT NULL,
  execution_id BIGINT NOT NULL,
  event_id     BIGINT NOT NULL,
  event_type   TEXT NOT NULL,
  event_data   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (instance_id, execution_id, event_id)
);

CREATE TABLE IF NOT EXISTS ${t.orchestratorQueue} (
  id            BIGSERIAL PRIMARY KEY,
  instance_id   TEXT NOT NULL,
  work_item     TEXT NOT NULL,
  item_type     TEXT,
  visible_at    BIGINT NOT NULL,
  lock_token    TEXT,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_orch_visible ON ${t.orchestratorQueue} (visible_at, id);
CREATE INDEX IF NOT EXISTS idx_orch_instance ON ${t.orchestratorQueue} (instance_id, visible_at);
CREATE INDEX IF NOT EXISTS idx_orch_lock ON ${t.orchestratorQueue} (lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${t.workerQueue} (
  id            BIGSERIAL PRIMARY KEY,
  work_item     TEXT NOT NULL,
  visible_at    BIGINT NOT NULL,
  lock_token    TEXT,
  locked_until  BIGINT,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  instance_id   TEXT,
  execution_id  BIGINT,
  activity_id   BIGINT,
  session_id    TEXT,
  tag           TEXT,
  created_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_worker_visible ON ${t.workerQueue} (visible_at, id);
CREATE INDEX IF NOT EXISTS idx_worker_lock ON ${t.workerQueue} (lock_token) WHERE lock_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_worker_identity ON ${t.workerQueue} (instance_id, execution_id, activity_id);
CREATE INDEX IF NOT EXISTS idx_worker_session ON ${t.workerQueue} (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${t.instanceLocks} (
  instance_id  TEXT PRIMARY KEY,
  lock_token   TEXT NOT NULL,
  locked_until BIGINT NOT NULL,
  locked_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_instance_locks_token ON ${t.instanceLocks} (lock_token);

CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id       TEXT PRIMARY KEY,
  worker_id        TEXT NOT NULL,
  locked_until     BIGINT NOT NULL,
  last_activity_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS ${t.kvStore} (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT NOT NULL,
  last_updated_at_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE IF NOT EXISTS ${t.kvDelta} (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT,
  last_updated_at_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
  id          BIGSERIAL PRIMARY KEY,
  queue       TEXT NOT NULL,
  original_id BIGINT,
  instance_id TEXT,
  payload     TEXT,
  error       TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    description: "instance status column and listing indexes (keyset paging)",
    sql: (t) => `
ALTER TABLE ${t.instances} ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'Running';
UPDATE ${t.instances} i SET status = e.status FROM ${t.executions} e
  WHERE e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id AND i.status IS DISTINCT FROM e.status;
CREATE INDEX IF NOT EXISTS idx_instances_page ON ${t.instances} (created_at, instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_status_page ON ${t.instances} (status, created_at, instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_name_page ON ${t.instances} (orchestration_name, created_at, instance_id);
`,
  },
];

/**
 * Creates the schema if missing and applies every pending migration. Returns how many ran.
 * Runs on a client the caller owns; the advisory lock is released when the transaction ends.
 */
export async function migrate(client: PoolClient, schema: string): Promise<number> {
  const t = tablesOf(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`duroxide:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${t.migrations}`);
    const current = r.rows[0]?.v ?? 0;
    let applied = 0;
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(t));
      await client.query(`INSERT INTO ${t.migrations} (version, description, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.description,
        Date.now(),
      ]);
      applied++;
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

export async function schemaVersion(client: PoolClient, schema: string): Promise<number> {
  const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${tablesOf(schema).migrations}`);
  return r.rows[0]?.v ?? 0;
}
