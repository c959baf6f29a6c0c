// Group commit on a real SQLite file: queued writes share one transaction, each is undone alone
// when it fails, nobody hears of a write before its commit, and a fetch joins the queued writes.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { GroupCommit } from "../../src/providers/sqlite/groupCommit.js";
import { Outstanding } from "../../src/providers/sqlite/outstanding.js";
import { SqliteProvider } from "../../src/providers/sqlite/index.js";
import { fixtures } from "../../src/providers/conformance/index.js";

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

// A fetch locks, so it is a write too: with another lock out it waits for the commit the next ack
// brings (the event loop's next turn) instead of a commit of its own, and with none out it goes at
// once. Counted in the WAL's commit frames.
it("a SQLite fetch made while another lock is out shares the next commit with the writes that come meanwhile; with none out it commits at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dx-gc-fetch-"));
  const file = join(dir, "s.db");
  const p = await SqliteProvider.open(`sqlite:${file}`, { checkpointIntervalMs: 0 });
  try {
    p.unsafeRawDatabase().pragma("wal_autocheckpoint = 0"); // the WAL only grows: every commit stays countable
    const commitsSoFar = (): number => {
      const wal = readFileSync(`${file}-wal`);
      const pageSize = wal.readUInt32BE(8);
      let n = 0;
      for (let o = 32; o + 24 + pageSize <= wal.length; o += 24 + pageSize) if (wal.readUInt32BE(o + 4) !== 0) n++;
      return n;
    };
    await p.createInstance(fixtures.startItem("a"));
    await p.createInstance(fixtures.startItem("b"));

    let before = commitsSoFar();
    const a = await p.fetchOrchestrationItem(30_000);
    assert.equal(a?.instance, "a");
    assert.equal(commitsSoFar(), before + 1, "no other lock out: the fetch commits at once");

    before = commitsSoFar();
    const fetched = p.fetchOrchestrationItem(30_000);
    assert.equal(commitsSoFar(), before, "a's lock is out: the fetch waits for company");
    const acked = p.ackOrchestrationItem(a.lockToken, fixtures.ack(1, { historyDelta: [fixtures.started("a")] }));
    const [b] = await Promise.all([fetched, acked]);
    assert.equal(b?.instance, "b");
    assert.equal(commitsSoFar(), before + 1, "the fetch and the ack shared one commit");
    assert.equal((await p.getStatus("a"))?.status, "Running");
    // Nothing ready: answered at once with no transaction, even with a lock out.
    before = commitsSoFar();
    assert.equal(await p.fetchOrchestrationItem(30_000), null);
    assert.equal(commitsSoFar(), before);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
