// Schema names, quoting and the per-schema identifiers derived from them.
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../model/errors.js";

const SCHEMA_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 bytes. */
const MAX_IDENTIFIER = 63;

/** `connect(url)` uses the default schema, as duroxide-node does. */
export const DEFAULT_SCHEMA = "public";

/** Throws InvalidArgumentError unless `schema` is a plain identifier PostgreSQL keeps as is. */
export function validateSchemaName(schema: string): string {
  if (typeof schema !== "string" || !SCHEMA_RE.test(schema)) {
    throw new InvalidArgumentError(`invalid schema name ${JSON.stringify(schema)}: expected /^[a-zA-Z_][a-zA-Z0-9_]*$/`);
  }
  if (schema.length > MAX_IDENTIFIER) {
    throw new InvalidArgumentError(`invalid schema name '${schema}': longer than ${MAX_IDENTIFIER} characters`);
  }
  return schema;
}

/** Double-quoted identifier (the name is validated, so no escaping is needed). */
export function quoteIdent(name: string): string {
  return `"${name}"`;
}

/** LISTEN/NOTIFY channel of a schema; hashed when the plain form would be too long. */
export function channelName(schema: string): string {
  const plain = `duroxide_${schema}`;
  if (plain.length <= MAX_IDENTIFIER) return plain;
  return `duroxide_${createHash("sha256").update(schema).digest("hex").slice(0, 40)}`;
}

/** Fully qualified, quoted table names of one schema. */
export interface Tables {
  readonly schema: string;
  readonly instances: string;
  readonly executions: string;
  readonly history: string;
  readonly orchestratorQueue: string;
  readonly workerQueue: string;
  readonly instanceLocks: string;
  readonly sessions: string;
  readonly kvStore: string;
  readonly kvDelta: string;
  readonly deadLetters: string;
  readonly migrations: string;
}

export function tablesOf(schema: string): Tables {
  const q = (t: string): string => `${quoteIdent(schema)}.${t}`;
  return {
    schema: quoteIdent(schema),
    instances: q("instances"),
    executions: q("executions"),
    history: q("history"),
    orchestratorQueue: q("orchestrator_queue"),
    workerQueue: q("worker_queue"),
    instanceLocks: q("instance_locks"),
    sessions: q("sessions"),
    kvStore: q("kv_store"),
    kvDelta: q("kv_delta"),
    deadLetters: q("dead_letters"),
    migrations: q("schema_migrations"),
  };
}
