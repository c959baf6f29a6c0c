// PostgreSQL group commit (src/providers/postgres/groupCommit.ts): writes that come while one is in
// flight go together as one dx_batch call; a write alone goes as its own call; a write that raises
// in a batch (a duplicate event id, a deadlock) is undone alone and sent again alone. The stored
// results are checked by the conformance category "concurrent writes"; here, that batching happens
// and how its failures are handled. Needs a server: DATABASE_URL or the local default.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";

import { InstanceNotFoundError, ProviderError } from "../../src/model/errors.js";
import { ack, activityItem, bootstrap, completed, event, external, fetchFor, startItem } from "../../src/providers/conformance/fixtures.js";
import type { PgConnection } from "../../src/providers/postgres/connection.js";
import { PgGroupCommit, type BatchedWrite, type GroupCommitStats } from "../../src/providers/postgres/groupCommit.js";
import type { ProviderNotification } from "../../src/providers/provider.js";
import { probePostgres, ThrowawaySchemas, type PostgresProvider } from "../../src/providers/postgres/index.js";

const URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const unreachable = await probePostgres(URL);
const skip = unreachable === null ? false : `PostgreSQL unreachable at ${URL}: ${unreachable}`;

/** The provider's group-commit counters (a private field: test only). */
function statsOf(p: PostgresProvider): GroupCommitStats {
  return { ...(p as unknown as { conn: PgConnection }).conn.writes.stats };
}

const nextTurn = (i: string) => ack(1, { historyDelta: [event(i, 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] });

/** Instances bootstrapped, each with a message waiting, fetched (locked): their lock tokens. */
async function lockedInstances(p: PostgresProvider, names: string[]): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const i of names) {
    await bootstrap(p, i);
    await p.enqueueForOrchestrator(external(i));
  }
  for (const i of names) tokens.set(i, (await fetchFor(p, i)).lockToken);
  return tokens;
}

/** A pool whose calls are recorded and answered by the test. */
class FakePool {
  readonly calls: { text: string; values: unknown[]; answer: (rows: unknown[] | Error) => void }[] = [];
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }> {
    return new Promise((resolve, reject) => {
      this.calls.push({ text, values, answer: (r) => (r instanceof Error ? reject(r) : resolve({ rows: r })) });
    });
  }
}

/** A write whose lone call the test answers; records how often it went alone. */
function fakeWrite(key: string) {
  const w = {
    lone: 0,
    answers: [] as ((v: unknown) => void)[],
    write: {
      key,
      call: () => JSON.stringify(["w", key]),
      alone: () => {
        w.lone++;
        return new Promise<unknown>((resolve) => w.answers.push(resolve));
      },
    } satisfies BatchedWrite<unknown>,
  };
  return w;
}

const tick = () => new Promise((r) => setImmediate(r));

describe("postgres group commit (module, no server)", () => {
  it("sends writes that come while one is in flight as one call, ordered by key, with a NOTIFY riding along", async () => {
    const pool = new FakePool();
    const gc = new PgGroupCommit(pool as never, '"s"');
    const a = fakeWrite("k-a");
    const first = gc.run(a.write);
    assert.equal(a.lone, 1, "idle: at once, alone");
    const c = fakeWrite("k-c");
    const b = fakeWrite("k-b");
    const pc = gc.run(c.write);
    const pb = gc.run(b.write);
    const notified = gc.notify("ch", ["x;o:1"]);
    assert.equal(pool.calls.length, 0, "nothing goes while a call is in flight");
    a.answers[0]!({ r_code: 0 });
    assert.deepEqual(await first, { r_code: 0 });
    await tick();
    assert.equal(pool.calls.length, 1);
    const call = pool.calls[0]!;
    assert.match(call.text, /dx_batch/);
    assert.deepEqual(JSON.parse(call.values[0] as string), [["notify", "ch", ["x;o:1"]], ["w", "k-b"], ["w", "k-c"]]);
    call.answer([{ r: [{}, { row: "b" }, { row: "c" }] }]);
    assert.deepEqual(await pb, { row: "b" });
    assert.deepEqual(await pc, { row: "c" });
    await notified;
    assert.equal(b.lone + c.lone, 0);
    assert.deepEqual({ ...gc.stats }, { alone: 1, batches: 1, batchedWrites: 2, retriedAlone: 0, batchFallbacks: 0, notifiesAlong: 1 });
    // Nothing queued: a NOTIFY goes at once by itself.
    void gc.notify("ch", ["y"]);
    assert.match(pool.calls[1]!.text, /pg_notify/);
  });

  it("a write that raised in the batch goes again alone; a batch failing as a whole goes write by write; a lost connection fails them all", async () => {
    const pool = new FakePool();
    const gc = new PgGroupCommit(pool as never, '"s"');
    const round = async (answer: unknown[] | Error) => {
      await tick();
      const head = fakeWrite("0");
      const first = gc.run(head.write);
      const x = fakeWrite("x");
      const y = fakeWrite("y");
      const px = gc.run(x.write).then((v) => ({ v }), (e: unknown) => ({ e }));
      const py = gc.run(y.write).then((v) => ({ v }), (e: unknown) => ({ e }));
      head.answers[0]!("head");
      await first;
      await tick();
      pool.calls[pool.calls.length - 1]!.answer(answer);
      await tick();
      for (const w of [x, y]) for (const r of w.answers) r(`${w.write.key}-alone`);
      return { x, y, rx: await px, ry: await py };
    };
    // y raised (null): only y goes again, alone.
    let r = await round([{ r: [{ ok: "x" }, null] }]);
    assert.deepEqual([r.rx, r.ry, r.x.lone, r.y.lone], [{ v: { ok: "x" } }, { v: "y-alone" }, 0, 1]);
    assert.equal(gc.stats.retriedAlone, 1);
    // The whole call failed (rolled back, say a statement timeout): both go alone.
    r = await round(Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }));
    assert.deepEqual([r.rx, r.ry, r.x.lone, r.y.lone], [{ v: "x-alone" }, { v: "y-alone" }, 1, 1]);
    assert.equal(gc.stats.batchFallbacks, 1);
    // The connection was lost: committed or not, unknown; each caller gets the error, nothing is resent.
    const lost = Object.assign(new Error("Connection terminated unexpectedly"), {});
    r = await round(lost);
    assert.deepEqual([r.rx, r.ry, r.x.lone, r.y.lone], [{ e: lost }, { e: lost }, 0, 0]);
  });
});

describe("postgres group commit", { skip }, () => {
  const schemas = new ThrowawaySchemas(URL, `dx_gc_${process.pid}`);
  after(async () => {
    await schemas.cleanup();
  });

  it("a write alone goes as its own call; writes that come together go as one batch", async () => {
    const p = await schemas.open();
    const names = Array.from({ length: 20 }, (_, k) => `i${k}`);
    const tokens = await lockedInstances(p, names);
    const before = statsOf(p);
    // One after another: each alone, no batch.
    for (const i of names.slice(0, 5)) await p.ackOrchestrationItem(tokens.get(i)!, nextTurn(i));
    const serial = statsOf(p);
    assert.equal(serial.batches, before.batches);
    assert.equal(serial.alone, before.alone + 5);
    // Together: the first goes at once, the 14 that come while it is in flight go as one call.
    await Promise.all(names.slice(5).map((i) => p.ackOrchestrationItem(tokens.get(i)!, nextTurn(i))));
    const together = statsOf(p);
    assert.equal(together.alone, serial.alone + 1);
    assert.equal(together.batches, serial.batches + 1);
    assert.equal(together.batchedWrites, serial.batchedWrites + 14);
    for (const i of names) assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted", "ExternalEvent"], i);
  });

  it("instance creations never wait for the batch in flight: each is its own call, even while acks are batched", async () => {
    const p = await schemas.open();
    const names = Array.from({ length: 10 }, (_, k) => `b${k}`);
    const tokens = await lockedInstances(p, names);
    const before = statsOf(p);
    // Acks that come together fill the pipeline; creations made meanwhile bypass it.
    const acks = names.map((i) => p.ackOrchestrationItem(tokens.get(i)!, nextTurn(i)));
    const creations = Array.from({ length: 6 }, (_, k) => p.createInstance(startItem(`new${k}`)));
    await Promise.all([...acks, ...creations]);
    const after = statsOf(p);
    assert.equal(after.alone - before.alone + (after.batchedWrites - before.batchedWrites), names.length, "only the acks went through the group commit");
    for (let k = 0; k < 6; k++) {
      const it = await fetchFor(p, `new${k}`);
      assert.equal(it.messages[0]?.type, "StartOrchestration");
    }
    await assert.rejects(p.createInstance(startItem("new0")), /exists/i);
  });

  it("worker acks with their completion's turn (ackWorkItemWithTurn) go in one batch too, applied or not", async () => {
    const p = await schemas.open();
    const names = Array.from({ length: 10 }, (_, k) => `t${k}`);
    for (const i of names) await bootstrap(p, i, { workerItems: [activityItem(i, 2)] });
    const tokens = new Map<string, string>();
    for (let k = 0; k < names.length; k++) {
      const lease = await p.fetchWorkItem(5_000, { tagFilter: { kind: "defaultOnly" } });
      tokens.set(lease!.item.instance, lease!.lockToken);
    }
    // t9 has a message waiting: its turn is refused and its completion queued.
    await p.enqueueForOrchestrator(external("t9"));
    const turn = (i: string) => ({
      instance: i,
      executionId: 1,
      lastEventId: 1,
      ack: ack(1, { historyDelta: [event(i, 1, 2, { type: "ActivityCompleted", result: '"ok"' }, 2)] }),
    });
    const before = statsOf(p);
    const results = await Promise.all(names.map((i) => p.ackWorkItemWithTurn(tokens.get(i)!, completed(i, 2), turn(i))));
    const after = statsOf(p);
    assert.equal(after.alone, before.alone + 1);
    assert.equal(after.batches, before.batches + 1);
    assert.equal(after.batchedWrites, before.batchedWrites + 9);
    assert.equal(after.retriedAlone, before.retriedAlone);
    assert.deepEqual(results.map((r) => r.applied), [...names.slice(0, 9).map(() => true), false]);
    for (const i of names.slice(0, 9)) assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted", "ActivityCompleted"], i);
    assert.deepEqual((await p.read("t9")).map((e) => e.type), ["OrchestrationStarted"]);
    assert.deepEqual((await fetchFor(p, "t9")).messages, [external("t9"), completed("t9", 2)]);
  });

  it("a write that raises in a batch is sent again alone and gets the error it gets alone", async () => {
    const p = await schemas.open();
    const tokens = await lockedInstances(p, ["a", "b", "c", "d"]);
    const before = statsOf(p);
    const dup = ack(1, { historyDelta: [event("c", 1, 1, { type: "ExternalEvent", name: "evt", data: "1" })] });
    const results = await Promise.allSettled([
      p.ackOrchestrationItem(tokens.get("a")!, nextTurn("a")),
      p.ackOrchestrationItem(tokens.get("b")!, nextTurn("b")),
      p.ackOrchestrationItem(tokens.get("c")!, dup),
      p.ackOrchestrationItem(tokens.get("d")!, nextTurn("d")),
    ]);
    const after = statsOf(p);
    assert.equal(after.batches, before.batches + 1);
    assert.equal(after.retriedAlone, before.retriedAlone + 1);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    const reason = results[2]?.status === "rejected" ? results[2].reason : null;
    assert.ok(reason instanceof ProviderError);
    assert.equal(reason.retryable, false);
    assert.match(reason.message, /duplicate event id for execution 1/);
    assert.deepEqual((await p.read("c")).map((e) => e.type), ["OrchestrationStarted"]);
    for (const i of ["a", "b", "d"]) assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted", "ExternalEvent"], i);
  });

  it("the NOTIFY of a write committed while a call is in flight rides along with the next batch and is heard", async () => {
    const name = schemas.newSchemaName();
    const listener = await schemas.open(name);
    const p = await schemas.open(name);
    const seen: ProviderNotification[] = [];
    listener.subscribe((n) => seen.push(n));
    assert.equal(await listener.whenListening(), true);
    const tokens = await lockedInstances(p, ["held", "q1", "q2"]);
    const other = new pg.Client({ connectionString: URL });
    await other.connect();
    try {
      // Hold the first ack in flight (blocked on its instance lock) while two more queue.
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`duroxide:${p.schema}:instance:held`]);
      const before = statsOf(p);
      const acks = Promise.all(["held", "q1", "q2"].map((i) => p.ackOrchestrationItem(tokens.get(i)!, nextTurn(i))));
      seen.length = 0;
      // A write outside group commit (its own transaction) commits now; its wake-up waits for the batch.
      await p.enqueueForWorker(activityItem("elsewhere", 1));
      await other.query("COMMIT");
      await acks;
      const after = statsOf(p);
      assert.equal(after.notifiesAlong, before.notifiesAlong + 1);
      assert.equal(after.batches, before.batches + 1);
      // dx_batch knows the 'notify' kind (an unknown kind would come back null and go again alone).
      assert.equal(after.retriedAlone, before.retriedAlone);
      const heard = () => seen.some((n) => n.kind === "worker");
      for (let k = 0; k < 150 && !heard(); k++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard(), "the other provider heard the wake-up");
    } finally {
      await other.end();
    }
  });

  it("enqueues that come together go as one batch; one for a missing instance fails alone with InstanceNotFoundError", async () => {
    const p = await schemas.open();
    await bootstrap(p, "e1");
    await bootstrap(p, "e2");
    const before = statsOf(p);
    const results = await Promise.allSettled([
      p.enqueueForOrchestrator(external("e1", "first")),
      p.enqueueForOrchestrator(external("e1", "second")),
      p.enqueueForOrchestrator(external("nobody"), { requireInstance: true }),
      p.enqueueForOrchestrator(external("e2", "third"), { requireInstance: true }),
      p.enqueueForOrchestrator(external("later")),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"],
    );
    const missing = results[2];
    assert.ok(missing?.status === "rejected" && missing.reason instanceof InstanceNotFoundError);
    const after = statsOf(p);
    assert.equal(after.batches, before.batches + 1);
    assert.equal(after.batchedWrites, before.batchedWrites + 4);
    // dx_batch knows the 'enqueue' kind (an unknown kind would come back null and go again alone).
    assert.equal(after.retriedAlone, before.retriedAlone);
    assert.deepEqual((await fetchFor(p, "e1")).messages, [external("e1", "first"), external("e1", "second")]);
    assert.deepEqual((await fetchFor(p, "e2")).messages, [external("e2", "third")]);
  });

  it("a write of a batch that waits on a lock (here a deadlock in the making) is undone and sent again alone beside the pipeline; nothing is lost, applied twice or held up", async () => {
    const p = await schemas.open();
    const tokens = await lockedInstances(p, ["a-x", "b-y", "z", "z2"]);
    const key = (i: string) => `duroxide:${p.schema}:instance:${i}`;
    const other = new pg.Client({ connectionString: URL });
    await other.connect();
    try {
      // Another transaction holds b-y's instance lock and then asks for a-x's, which the batch
      // (ordered by that key) takes first: a deadlock, unless the batch's write on b-y gives up.
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key("b-y")]);
      const before = statsOf(p);
      let settled = 0;
      const acks = Promise.allSettled(
        ["z", "a-x", "b-y"].map((i) => p.ackOrchestrationItem(tokens.get(i)!, nextTurn(i)).finally(() => settled++)),
      );
      // The batch (a-x, b-y) gives up on b-y after its lock_timeout, commits a-x and sends b-y again alone.
      for (let k = 0; k < 250 && statsOf(p).retriedAlone === before.retriedAlone; k++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(statsOf(p).retriedAlone, before.retriedAlone + 1, "the waiting write went again alone");
      await other.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key("a-x")]);
      // b-y still waits (alone, on its own connection); other writes are not held up by it.
      await p.ackOrchestrationItem(tokens.get("z2")!, nextTurn("z2"));
      assert.equal(settled, 2, "z and a-x are done, b-y waits");
      await other.query("COMMIT");
      const results = await acks;
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "fulfilled"]);
      const after = statsOf(p);
      assert.equal(after.batches, before.batches + 1);
      assert.equal(after.retriedAlone, before.retriedAlone + 1);
      for (const i of ["a-x", "b-y", "z", "z2"]) assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted", "ExternalEvent"], i);
    } finally {
      await other.end();
    }
  });
});
