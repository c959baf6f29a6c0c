// PostgreSQL: how a turn's writes reach the tables (dx_apply_plan, migration 17). A completion turn
// (dx_ack_work_turn) is applied under the advisory lock it holds, without writing an instance lock
// row; a fetched turn's ack (dx_ack_plan) checks and deletes its lock row in one statement and keeps
// its exact errors. The stored results are checked by the conformance suite; here, what only the
// tables show. Needs a server: DATABASE_URL or the local default.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";

import { ProviderError } from "../../src/model/errors.js";
import { ack, activityItem, bootstrap, completed, event, external, fetchFor, started, startItem } from "../../src/providers/conformance/fixtures.js";
import { NO_TAGS } from "../../src/providers/conformance/harness.js";
import type { CompletionTurn } from "../../src/providers/provider.js";
import { probePostgres, ThrowawaySchemas, type PostgresProvider } from "../../src/providers/postgres/index.js";
import { quoteIdent } from "../../src/providers/postgres/schemaName.js";

const URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const unreachable = await probePostgres(URL);
const skip = unreachable === null ? false : `PostgreSQL unreachable at ${URL}: ${unreachable}`;
const LOCK = 30_000;

async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** `instance` bootstrapped with activity 2 scheduled, leased: its work lock token. */
async function leased(p: PostgresProvider, instance: string): Promise<string> {
  await bootstrap(p, instance, {
    historyDelta: [event(instance, 1, 2, { type: "ActivityScheduled", name: "Act", input: '"in"' })],
    workerItems: [activityItem(instance, 2)],
  });
  const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
  assert.equal(lease?.item.id, 2);
  return lease!.lockToken;
}

/** The turn activity 2's completion causes for a caller holding events 1..2: it completes the execution. */
function finishing(instance: string): CompletionTurn {
  return {
    instance,
    executionId: 1,
    lastEventId: 2,
    ack: ack(1, {
      historyDelta: [
        event(instance, 1, 3, { type: "ActivityCompleted", result: '"ok"' }, 2),
        event(instance, 1, 4, { type: "OrchestrationCompleted", output: '"done"' }),
      ],
      metadata: { status: "Completed", output: '"done"' },
    }),
  };
}

function rejectsWith(message: RegExp) {
  return (err: unknown): boolean => err instanceof ProviderError && !err.retryable && message.test(err.message);
}

describe("postgres turn writes", { skip }, () => {
  const schemas = new ThrowawaySchemas(URL);
  after(() => schemas.cleanup());

  it("a completion turn writes no instance lock row (inserts into instance_locks are counted by a trigger)", async () => {
    const schema = schemas.newSchemaName();
    const p = await schemas.open(schema);
    const s = quoteIdent(schema);
    await sql(`CREATE TABLE ${s}.lock_inserts (instance_id TEXT)`);
    await sql(`CREATE FUNCTION ${s}.count_lock_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${s}.lock_inserts VALUES (NEW.instance_id); RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER count_lock_insert AFTER INSERT ON ${s}.instance_locks FOR EACH ROW EXECUTE FUNCTION ${s}.count_lock_insert()`);
    const token = await leased(p, "a");
    const before = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.lock_inserts`);
    const r = await p.ackWorkItemWithTurn!(token, completed("a", 2), finishing("a"));
    assert.equal(r.applied, true);
    assert.equal((await p.getStatus("a"))?.status, "Completed");
    assert.equal((await p.getStatus("a"))?.output, '"done"');
    const afterTurn = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.lock_inserts`);
    assert.equal(afterTurn[0]!.n, before[0]!.n, "the completion turn inserted an instance lock row");
    const exec = await sql<{ status: string; output: string; completed_at: string | null }>(
      `SELECT status, output, completed_at FROM ${s}.executions WHERE instance_id = 'a' AND execution_id = 1`,
    );
    assert.deepEqual(exec.map((e) => [e.status, e.output, e.completed_at !== null]), [["Completed", '"done"', true]]);
  });

  it("a completion turn removes a lost holder's expired lock row, so the lost holder's late ack finds no lock", async () => {
    const schema = schemas.newSchemaName();
    const p = await schemas.open(schema);
    const s = quoteIdent(schema);
    const token = await leased(p, "a");
    // A holder that fetched nothing visible now and was lost: its lock expired long ago.
    await sql(`INSERT INTO ${s}.instance_locks (instance_id, lock_token, locked_until, locked_at) VALUES ('a', 'lost', 1, 0)`);
    const r = await p.ackWorkItemWithTurn!(token, completed("a", 2), finishing("a"));
    assert.equal(r.applied, true);
    assert.deepEqual(await sql(`SELECT instance_id FROM ${s}.instance_locks`), []);
    await assert.rejects(p.ackOrchestrationItem("lost", ack(1)), rejectsWith(/not held/));
  });

  it("an ack keeps its exact lock errors: an unknown token is 'not held'; an expired lock is 'expired', stays in place and nothing is written", async () => {
    const schema = schemas.newSchemaName();
    const p = await schemas.open(schema);
    const s = quoteIdent(schema);
    await bootstrap(p, "a");
    await p.enqueueForOrchestrator(external("a"));
    const item = await fetchFor(p, "a");
    const turn = ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] });
    await assert.rejects(p.ackOrchestrationItem("no-such-token", turn), rejectsWith(/not held/));
    await sql(`UPDATE ${s}.instance_locks SET locked_until = 1 WHERE lock_token = $1`, [item.lockToken]);
    await assert.rejects(p.ackOrchestrationItem(item.lockToken, turn), rejectsWith(/expired/));
    assert.deepEqual(await sql(`SELECT lock_token FROM ${s}.instance_locks`), [{ lock_token: item.lockToken }]);
    assert.equal((await p.read("a")).length, 1);
    assert.equal((await sql(`SELECT 1 FROM ${s}.orchestrator_queue WHERE instance_id = 'a'`)).length, 1);
    // Fetched again (the lock expired), the turn is acked and its lock row goes with the ack.
    const again = await fetchFor(p, "a");
    await p.ackOrchestrationItem(again.lockToken, turn);
    assert.deepEqual(await sql(`SELECT lock_token FROM ${s}.instance_locks`), []);
    assert.equal((await p.read("a")).length, 2);
  });

  it("instances have no redundant created_at index, and index parents of sub-orchestrations only", async () => {
    const schema = schemas.newSchemaName();
    const p = await schemas.open(schema);
    const idx = await sql<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'instances' ORDER BY 1`, [schema]);
    assert.equal(idx.some((i) => i.indexname === "idx_instances_created"), false);
    assert.match(idx.find((i) => i.indexname === "idx_instances_parent")?.indexdef ?? "", /WHERE \(parent_instance_id IS NOT NULL\)/);
    // Children are still found through it.
    await bootstrap(p, "root");
    await p.createInstance(startItem("child", { parent: "root" }));
    const child = await fetchFor(p, "child");
    await p.ackOrchestrationItem(child.lockToken, ack(1, { historyDelta: [started("child", 1, 1, "{}", "root")], metadata: { parentInstanceId: "root" } }));
    assert.deepEqual(await p.admin.listChildren("root"), ["child"]);
  });

  it("the functions clients call plan generically from the first call (plan_cache_mode on each)", async () => {
    const schema = schemas.newSchemaName();
    await schemas.open(schema);
    const rows = await sql<{ proname: string; proconfig: string[] | null }>(
      `SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = ANY($2)`,
      [schema, ["dx_batch", "dx_ack_plan", "dx_ack_work_turn", "dx_ack_work_lock", "dx_create_instance", "dx_create_turn", "dx_fetch_orch", "dx_fetch_orchs", "dx_lease_work", "dx_lease_works"]],
    );
    assert.equal(rows.length, 10);
    for (const r of rows) assert.deepEqual(r.proconfig, ["plan_cache_mode=force_generic_plan"], r.proname);
  });

  it("a turn of a new execution (continued as new) takes the upsert path: the instance moves to it and Running", async () => {
    const schema = schemas.newSchemaName();
    const p = await schemas.open(schema);
    const s = quoteIdent(schema);
    await bootstrap(p, "a");
    await p.enqueueForOrchestrator(external("a"));
    let item = await fetchFor(p, "a");
    await p.ackOrchestrationItem(
      item.lockToken,
      ack(1, {
        historyDelta: [event("a", 1, 2, { type: "OrchestrationContinuedAsNew", input: "{}" })],
        metadata: { status: "ContinuedAsNew", output: "{}" },
      }),
    );
    assert.equal((await p.getStatus("a"))?.status, "ContinuedAsNew");
    await p.enqueueForOrchestrator(external("a"));
    item = await fetchFor(p, "a");
    await p.ackOrchestrationItem(item.lockToken, ack(2, { historyDelta: [started("a", 2)] }));
    const rows = await sql<{ current_execution_id: string; status: string }>(`SELECT current_execution_id::text, status FROM ${s}.instances WHERE instance_id = 'a'`);
    assert.deepEqual(rows, [{ current_execution_id: "2", status: "Running" }]);
    const execs = await sql<{ execution_id: string; status: string }>(`SELECT execution_id::text, status FROM ${s}.executions WHERE instance_id = 'a' ORDER BY 1`);
    assert.deepEqual(execs, [{ execution_id: "1", status: "ContinuedAsNew" }, { execution_id: "2", status: "Running" }]);
  });
});
