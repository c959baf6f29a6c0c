// PostgresProvider.connect(url) without a schema works in the database's default schema (public),
// as duroxide-node does. Runs in a throwaway database so it cannot touch anything else.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PostgresProvider, Client, Runtime } from "../../src/index.js";
import { PG_URL, PROVIDERS } from "../e2e/harness.js";

describe("PostgresProvider.connect(url)", { skip: PROVIDERS.includes("postgres") ? false : "PostgreSQL unavailable" }, () => {
  it("uses the public schema of the given database", async () => {
    const db = `dx_connect_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    const url = new URL(PG_URL);
    url.pathname = `/${db}`;
    try {
      const provider = await PostgresProvider.connect(url.toString());
      assert.equal(provider.schema, "public");
      const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
      rt.registerOrchestration("Hi", async () => "hi");
      await rt.start();
      const client = new Client(provider);
      await client.startOrchestration("hi-1", "Hi");
      assert.equal((await client.waitForOrchestration("hi-1", 10_000)).output, "hi");
      await rt.shutdown(100);
      await provider.close();
      const inDb = new pg.Client({ connectionString: url.toString() });
      await inDb.connect();
      const tables = await inDb.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
      await inDb.end();
      const names = tables.rows.map((r) => r.tablename);
      assert.ok(names.includes("instances") && names.includes("history"), `tables in public: ${names.join(", ")}`);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });
});
