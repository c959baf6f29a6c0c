// Connections terminated by the server (pg_terminate_backend: the 57P01 a restart sends) while
// transactions, lock renewals and acks are in flight must not crash the process; the runtime
// carries on over fresh connections and every instance completes. Unlike test/outage, this only
// touches this test's own connections (found by application_name), so it runs with the main suite.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { Client, Runtime, type OrchestrationContext } from "../../src/index.js";
import { probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { preparedStatementClient } from "../../src/providers/postgres/preparedClient.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const problem = await probePostgres(PG_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PostgreSQL: server-terminated connections", { skip: problem ?? false }, () => {
  const schemas = new ThrowawaySchemas(PG_URL, `dx_term_${process.pid}`);
  after(() => schemas.cleanup());

  it("a pooled client terminated while checked out, between statements of a transaction, does not crash the process", async () => {
    // The pool listens for errors only on idle clients; the FATAL a terminated backend sends while
    // no query is active is emitted as 'error' on the checked-out client (unhandled: exit 1).
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1, Client: preparedStatementClient(pg) });
    pool.on("error", () => undefined);
    const killer = new pg.Client({ connectionString: PG_URL });
    killer.on("error", () => undefined);
    await killer.connect();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.prependListener("uncaughtException", onUncaught);
    try {
      const c = await pool.connect();
      await c.query("BEGIN");
      const pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await killer.query("SELECT pg_terminate_backend($1)", [pid]);
      await sleep(300);
      await assert.rejects(c.query("SELECT 1", []));
      c.release(true);
      // The pool replaces the broken client.
      assert.equal((await pool.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
    } finally {
      process.removeListener("uncaughtException", onUncaught);
      await killer.end();
      await pool.end();
    }
    assert.deepEqual(uncaught, []);
  });

  it("a runtime survives its connections being terminated mid-transaction and finishes every instance", { timeout: 90_000 }, async () => {
    const app = `dx-term-${process.pid}`;
    const provider = await schemas.open(undefined, { applicationName: app, maxConnections: 4 });
    const rt = new Runtime(provider, {
      dispatcherPollIntervalMs: 20,
      workerLockTimeoutMs: 900,
      orchestratorLockTimeoutMs: 900,
      logLevel: "off",
    });
    const runs = new Map<string, number>();
    rt.registerActivity("Slow", async (_ctx, step: string) => {
      await sleep(250);
      runs.set(step, (runs.get(step) ?? 0) + 1);
      return step;
    });
    rt.registerOrchestration("Chain", async (ctx: OrchestrationContext) => {
      const out: string[] = [];
      for (const s of ["a", "b", "c"]) out.push(await ctx.scheduleActivity<string>("Slow", `${ctx.instanceId}:${s}`));
      return out;
    });
    await rt.start();
    const client = new Client(provider);
    const ids = Array.from({ length: 8 }, (_, i) => `t-${i}`);
    for (const id of ids) await client.startOrchestration(id, "Chain", null);

    const killer = new pg.Client({ connectionString: PG_URL });
    killer.on("error", () => undefined);
    await killer.connect();
    let terminated = 0;
    try {
      const until = Date.now() + 2_500;
      while (Date.now() < until) {
        const r = await killer.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
           WHERE application_name LIKE $1 AND pid <> pg_backend_pid()`,
          [`${app}%`],
        );
        terminated += Number(r.rows[0]?.n ?? 0);
        await sleep(120);
      }
    } finally {
      await killer.end();
    }
    assert.ok(terminated > 0, "no connection was terminated");
    for (const id of ids) {
      const s = await client.waitForOrchestration(id, 60_000);
      assert.equal(s.status, "Completed", `${id}: ${JSON.stringify(s)}`);
      assert.deepEqual(s.output, ["a", "b", "c"].map((x) => `${id}:${x}`));
    }
    await rt.shutdown(200);
  });
});
