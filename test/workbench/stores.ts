// Populated stores for the workbench tests, as the CLI and dashboard address them: a SQLite file
// in a temp dir, or a throwaway PostgreSQL schema (dropped afterwards).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider, probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { populate } from "./fixtures.js";

export type StoreKind = "sqlite" | "postgres";
export const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const pgProblem = await probePostgres(PG_URL);
if (pgProblem !== null && process.env["CI"] !== "true")
  process.stderr.write(`\n*** SKIPPING PostgreSQL workbench runs: PostgreSQL unreachable at ${PG_URL}: ${pgProblem} ***\n\n`);
/** Under CI PostgreSQL is required (an unreachable server fails the run rather than being skipped). */
export const STORE_KINDS: StoreKind[] = pgProblem === null || process.env["CI"] === "true" ? ["sqlite", "postgres"] : ["sqlite"];

export interface TestStore {
  kind: StoreKind;
  /** CLI arguments that name the store. */
  args: string[];
  open(): Promise<Provider>;
  destroy(): Promise<void>;
}

/** An empty store of the given kind. */
export async function emptyStore(kind: StoreKind): Promise<TestStore> {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dx-wb-"));
    const file = join(dir, "app.db");
    await (await SqliteProvider.open(`sqlite:${file}`)).close();
    return { kind, args: ["--store", `sqlite:${file}`], open: () => SqliteProvider.open(`sqlite:${file}`), destroy: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schemas = new ThrowawaySchemas(PG_URL, `dx_wb_${process.pid}`);
  const schema = schemas.newSchemaName();
  await (await PostgresProvider.connectWithSchema(PG_URL, schema)).close();
  return {
    kind,
    args: ["--store", PG_URL, "--schema", schema],
    open: () => PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 4 }),
    destroy: () => schemas.cleanup(),
  };
}

/** A store filled by `populate` (instances in every status). */
export async function populatedStore(kind: StoreKind): Promise<TestStore> {
  const s = await emptyStore(kind);
  const p = await s.open();
  try {
    await populate(p);
  } finally {
    await p.close();
  }
  return s;
}
