// Every parameterised statement runs as a named prepared statement, whichever way it reaches the
// client: inside our transactions (client.query(text, values)) and through Pool.query, which
// calls client.query(text, values, callback) and so once bypassed the naming (every fetch and ack
// function call was parsed and planned again on each call).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { probePostgres } from "../../src/providers/postgres/index.js";
import { preparedStatementClient } from "../../src/providers/postgres/preparedClient.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const problem = await probePostgres(PG_URL);

describe("PostgreSQL: prepared statements", { skip: problem ?? false }, () => {
  it("statements sent through Pool.query and through a checked-out client are prepared once per connection", async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1, Client: preparedStatementClient(pg) });
    pool.on("error", () => undefined);
    try {
      const viaPool = "SELECT $1::int + 1 AS v /* dx prepared test: pool */";
      const viaClient = "SELECT $1::int + 2 AS v /* dx prepared test: client */";
      for (let i = 0; i < 3; i++) assert.equal((await pool.query<{ v: number }>(viaPool, [i])).rows[0]?.v, i + 1);
      const c = await pool.connect();
      try {
        for (let i = 0; i < 3; i++) assert.equal((await c.query<{ v: number }>(viaClient, [i])).rows[0]?.v, i + 2);
        const prepared = await c.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements");
        const texts = prepared.rows.map((r) => r.statement);
        assert.ok(texts.includes(viaPool), `not prepared: ${viaPool} (prepared: ${JSON.stringify(texts)})`);
        assert.ok(texts.includes(viaClient), `not prepared: ${viaClient}`);
      } finally {
        c.release();
      }
    } finally {
      await pool.end();
    }
  });
});
