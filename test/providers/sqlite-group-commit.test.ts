// Group commit on a real SQLite file: queued writes share one transaction, each is undone alone
// when it fails, nobody hears of a write before its commit, and a fetch joins the queued writes.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { GroupCommit } from "../../src/providers/sqlite/groupCommit.js";
import { Outstanding } from "../../src/providers/sqlite/outstanding.js";
import { SqliteProvider } from "../../src/providers/sqlite/index.js";
import { bootstrap, external, fetchFor, startItem } from "../../src/providers/conformance/fixtures.js";

describe("SQLite group commit", () => {
  let dir: string;
  let db: Database.Database;
  let other: Database.Database;
  let commits: GroupCommit;
  const insert = (x: number) => () => db.prepare("INSERT INTO t (x) VALUES (?)").run(x).changes;
  const seen = () => (other.prepare("SELECT x FROM t ORDER BY x").all() as { x: number }[]).map((r) => r.x);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dx-gc-"));
    db = new Database(join(dir, "s.db"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)");
    other = new Database(join(dir, "s.db"));
    commits = new GroupCommit(db);
  });
  afterEach(() => {
    db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a write alone commits at once; writes expecting company queue and share one commit, none visible or settled before it", async () => {
    const a = commits.write(insert(1), true);
    assert.deepEqual(seen(), [1], "alone: committed at once");
    let settled = 0;
    let seenByLast: number[] | null = null;
    const b = commits.write(insert(2), false).then((v) => (settled++, v));
    const c = commits.write(() => {
      // The write before ran already, in this same open transaction: nobody else sees it.
      seenByLast = seen();
      return insert(3)();
    }, true); // alone, but a write is queued: it joins that commit
    assert.equal(commits.queued, 2);
    assert.deepEqual(seen(), [1], "queued writes wait until the loop is free");
    assert.deepEqual(await Promise.all([a, b, c]), [1, 1, 1]);
    assert.equal(settled, 1);
    assert.deepEqual(seenByLast, [1]);
    assert.deepEqual(seen(), [1, 2, 3]);
    assert.equal(db.inTransaction, false);
  });

  it("the locks handed out tell a write whether company can come", () => {
    const out = new Outstanding();
    assert.equal(out.othersThan(null), false);
    out.add("t1", 60_000);
    assert.equal(out.othersThan("t1"), false, "its own lock is not company");
    assert.equal(out.othersThan(null), true);
    out.add("t2", 60_000);
    assert.equal(out.othersThan("t1"), true);
    out.delete("t2");
    out.add("lapsed", -1);
    assert.equal(out.othersThan("t1"), false, "a lapsed lock was lost: not counted");
  });

  it("a write that throws is undone alone; the others are stored", async () => {
    const a = commits.write(insert(1), false);
    const b = commits.write(() => {
      insert(2)();
      throw new Error("lock lost");
    }, false);
    const c = commits.write(insert(3), false);
    const dup = commits.write(insert(1), false); // a constraint error inside the batch
    assert.equal(await a, 1);
    await assert.rejects(b, /lock lost/);
    assert.equal(await c, 1);
    await assert.rejects(dup, (e: { code?: string }) => e.code === "SQLITE_CONSTRAINT_PRIMARYKEY");
    assert.deepEqual(seen(), [1, 3]);
  });

  it("now() runs after the queued writes, in their transaction, and sees them; its own error is thrown after their commit", async () => {
    const a = commits.write(insert(1), false);
    assert.deepEqual(seen(), []);
    const count = commits.now(() => (db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n);
    assert.equal(count, 1);
    assert.deepEqual(seen(), [1], "committed by the time now() returns");
    assert.equal(await a, 1);

    const b = commits.write(insert(2), false);
    assert.throws(() => commits.now(() => {
      insert(5)();
      throw new Error("fetch failed");
    }), /fetch failed/);
    assert.equal(await b, 1);
    assert.deepEqual(seen(), [1, 2]);

    // Nothing queued: now() is just the call.
    assert.equal(commits.now(() => db.inTransaction), false);
  });

  it("when the transaction cannot begin, every queued write fails and none is stored", async () => {
    db.pragma("busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    const a = commits.write(insert(1), true);
    const b = commits.write(insert(2), false);
    await assert.rejects(a, (e: { code?: string }) => e.code === "SQLITE_BUSY");
    await assert.rejects(b, (e: { code?: string }) => e.code === "SQLITE_BUSY");
    other.exec("COMMIT");
    assert.deepEqual(seen(), []);
    // The next batch works.
    assert.equal(await commits.write(insert(3), true), 1);
    assert.deepEqual(seen(), [3]);
  });

  it("flush() commits what is queued at once", async () => {
    const a = commits.write(insert(7), false);
    const b = commits.write(insert(8), false);
    assert.deepEqual(seen(), []);
    commits.flush();
    assert.deepEqual(seen(), [7, 8]);
    assert.deepEqual(await Promise.all([a, b]), [1, 1]);
  });
});

describe("SQLite provider: what waits for company", () => {
  it("a start commits at once even while a lock is out (a client's latency); an ack then waits for company", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-gc-p-"));
    const p = await SqliteProvider.open(join(dir, "s.db"));
    const reader = new Database(join(dir, "s.db"), { readonly: true });
    const queued = (instance: string) => (reader.prepare("SELECT count(*) AS n FROM orchestrator_queue WHERE instance_id = ?").get(instance) as { n: number }).n;
    try {
      for (const i of ["a", "b"]) {
        await bootstrap(p, i);
        await p.enqueueForOrchestrator(external(i));
      }
      const a = await fetchFor(p, "a");
      const b = await fetchFor(p, "b");
      // Two locks are out. The start is stored by the time the call returns, before any
      // event-loop turn; an ack of one lock (the other still out) waits for the next turn.
      const started = p.createInstance(startItem("fresh"));
      assert.equal(queued("fresh"), 1, "the start committed within the call");
      const acked = p.ackOrchestrationItem(a.lockToken, { executionId: 1, historyDelta: [], workerItems: [], orchestratorItems: [], cancelledActivities: [], metadata: { orchestrationName: "o", orchestrationVersion: "1.0.0" } });
      assert.equal(queued("a"), 1, "the ack waits for company: its message is still queued");
      await Promise.all([started, acked]);
      assert.equal(queued("a"), 0);
      await p.abandonOrchestrationItem(b.lockToken, 0, true);
    } finally {
      reader.close();
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
