// Entra ID connection path (duroxide-node's connectWithEntra / connectWithSchemaAndEntra), exercised
// against the local server. Its trust auth never asks for the password, so these tests prove the
// wiring (token fetched at connect, config accepted by the pool and the LISTEN connection) and the
// token cache is tested on its own. Azure itself is not reachable here.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { PostgresProvider, Client, Runtime } from "../../src/index.js";
import { ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { entraPassword } from "../../src/providers/postgres/entra.js";
import { PG_URL, PROVIDERS } from "../e2e/harness.js";

describe("PostgresProvider Entra connection", { skip: PROVIDERS.includes("postgres") ? false : "PostgreSQL unavailable" }, () => {
  const schemas = new ThrowawaySchemas(PG_URL, `dx_entra_${process.pid}`);
  after(() => schemas.cleanup());
  const u = new URL(PG_URL);
  const host = u.hostname;
  const port = Number(u.port || 5432);
  const database = u.pathname.slice(1);
  const user = decodeURIComponent(u.username);

  it("fetches a token once, caches it, and runs workflows over it", async () => {
    const scopes: string[] = [];
    const provider = await PostgresProvider.connectWithSchemaAndEntra(host, port, database, user, schemas.newSchemaName(), {
      ssl: false,
      maxConnections: 3,
      getToken: async (scope) => {
        scopes.push(scope);
        return { token: "fake-token", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    });
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
    rt.registerActivity("Echo", async (_c, x: string) => x);
    rt.registerOrchestration("E", async (ctx, x: string) => ctx.scheduleActivity("Echo", x));
    await rt.start();
    try {
      const client = new Client(provider);
      await client.startOrchestration("e-1", "E", "via entra");
      assert.equal((await client.waitForOrchestration("e-1", 10_000)).output, "via entra");
      assert.equal(scopes.length, 1, "one token fetched at connect");
      assert.equal(scopes[0], "https://ossrdbms-aad.database.windows.net/.default");
    } finally {
      await rt.shutdown(100);
      await provider.close();
    }
  });

  it("without getToken and without @azure/identity installed, fails with a clear error", async () => {
    await assert.rejects(
      PostgresProvider.connectWithEntra(host, port, database, user, { ssl: false, acquireTimeoutMs: 5_000 }),
      /@azure\/identity/,
    );
  });

  it("caches the token until shortly before it expires, then fetches a new one", async () => {
    let calls = 0;
    let expires = Date.now() + 3_600_000;
    const password = entraPassword({
      refreshIntervalMs: 60_000,
      getToken: async () => ({ token: `t${++calls}`, expiresOnTimestamp: expires }),
    });
    assert.equal(await password(), "t1");
    assert.equal(await password(), "t1");
    assert.equal(calls, 1);
    expires = Date.now() + 30_000; // the next token is inside the refresh window
    calls = 1;
    const soon = entraPassword({ refreshIntervalMs: 60_000, getToken: async () => ({ token: `s${++calls}`, expiresOnTimestamp: expires }) });
    assert.equal(await soon(), "s2");
    assert.equal(await soon(), "s3", "a token about to expire is refreshed");
  });
});
