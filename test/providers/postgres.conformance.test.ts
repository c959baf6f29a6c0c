// Runs the provider conformance suite against PostgreSQL: a fresh schema per test, dropped after it.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";

import { runProviderConformance } from "../../src/providers/conformance/index.js";
import type { Provider } from "../../src/providers/provider.js";
import { PostgresProvider, probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";

const URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const unreachable = await probePostgres(URL);

function asPostgres(p: Provider): PostgresProvider {
  if (!(p instanceof PostgresProvider)) throw new Error("not a PostgresProvider");
  return p;
}

if (unreachable !== null) {
  const msg = `PostgreSQL unreachable at ${URL}: ${unreachable}`;
  if (process.env["CI"] === "true") {
    describe("provider conformance: postgres", () => {
      it("needs a reachable PostgreSQL in CI", () => assert.fail(`${msg} (CI=true: the PostgreSQL conformance run must happen)`));
    });
  } else {
    process.stderr.write(`\n*** SKIPPING PostgreSQL conformance tests: ${msg} ***\n\n`);
    describe("provider conformance: postgres", { skip: msg }, () => undefined);
  }
} else {
  const schemas = new ThrowawaySchemas(URL, `dx_conf_${process.pid}`);
  after(async () => {
    await schemas.cleanup();
  });

  runProviderConformance("postgres", {
    create: () => PostgresProvider.connectWithSchema(URL, schemas.newSchemaName(), { maxConnections: 4 }),
    async destroy(p) {
      const pg = asPostgres(p);
      const raw = pg.schema;
      await pg.close();
      await schemas.dropSchema(raw);
    },
    async corruptHistory(p, instance) {
      const pg = asPostgres(p);
      const s = `"${pg.schema}"`;
      await pg.unsafeRawPool().query(
        `UPDATE ${s}.history SET event_data = '{not json' WHERE instance_id = $1
           AND execution_id = (SELECT current_execution_id FROM ${s}.instances WHERE instance_id = $1)
           AND event_id = (SELECT MIN(event_id) FROM ${s}.history WHERE instance_id = $1)`,
        [instance],
      );
    },
    async corruptQueueRow(p) {
      const pg = asPostgres(p);
      const s = `"${pg.schema}"`;
      await pg
        .unsafeRawPool()
        .query(`UPDATE ${s}.orchestrator_queue SET work_item = '{"broken' WHERE id = (SELECT MAX(id) FROM ${s}.orchestrator_queue)`);
    },
  }, { drainHints: true, ackLeases: true, workAckLocks: true, batchFetch: true, completionTurns: true, startTurns: true });
}
