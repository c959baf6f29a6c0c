// End-to-end harness: a runtime and client on a real store — a SQLite file in a fresh temp dir, or
// a fresh PostgreSQL schema (dropped afterwards). Every e2e test runs on each available provider.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, Client, SqliteProvider, type Provider, type RuntimeOptions } from "../../src/index.js";
import { PostgresProvider, probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";

export type ProviderKind = "sqlite" | "postgres";

export const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const pgProblem = await probePostgres(PG_URL);
let schemas: ThrowawaySchemas | null = null;

/** Providers to run e2e tests on. Under CI an unreachable PostgreSQL fails the run. */
export const PROVIDERS: ProviderKind[] = pgProblem === null ? ["sqlite", "postgres"] : ["sqlite"];
if (pgProblem !== null) {
  const msg = `PostgreSQL unreachable at ${PG_URL}: ${pgProblem}`;
  if (process.env["CI"] === "true") {
    describe("e2e on postgres", () => it("needs a reachable PostgreSQL in CI", () => assert.fail(msg)));
  } else {
    process.stderr.write(`\n*** SKIPPING PostgreSQL end-to-end runs: ${msg} ***\n\n`);
  }
} else {
  schemas = new ThrowawaySchemas(PG_URL, `dx_e2e_${process.pid}`);
  after(async () => {
    await schemas?.cleanup();
  });
}

export interface Harness {
  provider: Provider;
  runtime: Runtime;
  client: Client;
  /** Open another provider object on the same store (e.g. for a second runtime). */
  openProvider(): Promise<Provider>;
  close(): Promise<void>;
}

export async function openStore(kind: ProviderKind): Promise<{ open(): Promise<Provider>; destroy(): Promise<void> }> {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dx-e2e-"));
    const url = `sqlite:${join(dir, "store.db")}`;
    return {
      open: () => SqliteProvider.open(url),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!schemas) throw new Error("PostgreSQL is not available");
  const s = schemas;
  const schema = s.newSchemaName();
  return {
    open: () => PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 6 }),
    destroy: () => s.dropSchema(schema),
  };
}

/** `wrap` puts something between the store and the runtime and client (fault injection). */
export async function harness(
  setup: (rt: Runtime) => void,
  options: RuntimeOptions = {},
  kind: ProviderKind = "sqlite",
  wrap: (p: Provider) => Provider = (p) => p,
): Promise<Harness> {
  const store = await openStore(kind);
  const inner = await store.open();
  const provider = wrap(inner);
  const extra: Provider[] = [];
  const runtime = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error", ...options });
  setup(runtime);
  await runtime.start();
  const client = new Client(provider);
  return {
    provider,
    runtime,
    client,
    async openProvider() {
      const p = await store.open();
      extra.push(p);
      return p;
    },
    async close() {
      await runtime.shutdown(200);
      await inner.close();
      for (const p of extra) await p.close();
      await store.destroy();
    },
  };
}
