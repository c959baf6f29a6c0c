// What a turn writes to the WAL on a SQLite file, page by page: a running execution's ack leaves
// the instance listing indexes alone (an UPDATE that sets an indexed column to the value it has
// still rewrites the index entry), and an instance lock is two b-trees (instance, token), not
// three. Fewer pages per commit is less to write now and less for the checkpointer later.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

import { fixtures } from "../../src/providers/conformance/index.js";
import { MIGRATIONS, SqliteProvider } from "../../src/providers/sqlite/index.js";

const { ack, activityItem, completed, event, fetchFor, started, startItem } = fixtures;

/** B-tree names of the pages in the WAL frames written after byte `from`. */
function pagesWritten(db: Database.Database, walPath: string, from: number): Set<string> {
  const wal = readFileSync(walPath);
  const pageSize = wal.readUInt32BE(8);
  const names = new Map((db.prepare("SELECT name, pageno FROM dbstat").all() as { name: string; pageno: number }[]).map((r) => [r.pageno, r.name]));
  const out = new Set<string>();
  for (let o = Math.max(32, from); o + 24 + pageSize <= wal.length; o += 24 + pageSize) out.add(names.get(wal.readUInt32BE(o)) ?? "?");
  return out;
}

it("sqlite: a running execution's fetch and ack write no instance listing index and two b-trees per lock", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dx-pages-"));
  const file = join(dir, "s.db");
  const p = await SqliteProvider.open(`sqlite:${file}`, { checkpointIntervalMs: 0 });
  try {
    const db = p.unsafeRawDatabase();
    db.pragma("wal_autocheckpoint = 0"); // the WAL only grows: every frame stays readable
    await p.createInstance(startItem("a"));
    let item = await fetchFor(p, "a");
    await p.ackOrchestrationItem(
      item.lockToken,
      ack(1, { historyDelta: [started("a"), event("a", 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" })], workerItems: [activityItem("a", 2)] }),
    );
    await p.enqueueForOrchestrator(completed("a", 2));

    const from = readFileSync(`${file}-wal`).length;
    item = await fetchFor(p, "a");
    await p.ackOrchestrationItem(
      item.lockToken,
      ack(1, { historyDelta: [event("a", 1, 3, { type: "ActivityCompleted", result: '"ok"' }, 2), event("a", 1, 4, { type: "ActivityScheduled", name: "Act", input: "2" })], workerItems: [activityItem("a", 4)] }),
    );
    const written = pagesWritten(db, `${file}-wal`, from);
    for (const index of ["idx_instances_status_page", "idx_instances_name_page", "idx_instances_page", "idx_instances_created"]) {
      assert.ok(!written.has(index), `${index} rewritten by a turn that changes no listed column: ${[...written].join(", ")}`);
    }
    assert.ok(written.has("instances"), "updated_at still moves");
    assert.ok(written.has("instance_locks") && written.has("idx_instance_locks_token"));
    assert.ok(![...written].some((n) => n.startsWith("sqlite_autoindex_instance_locks")), "the lock table is keyed by instance itself");
    assert.equal((await p.getStatus("a"))?.status, "Running");
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it("sqlite: migration 5 rebuilds instance_locks without a rowid and keeps the locks held", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dx-mig5-"));
  const file = join(dir, "old.db");
  try {
    const db = new Database(file);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    for (const m of MIGRATIONS.filter((x) => x.version <= 4)) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations VALUES (?, ?, 0)").run(m.version, m.description);
    }
    db.prepare("INSERT INTO orchestrator_queue (instance_id, work_item, item_type, visible_at, created_at) VALUES ('a', ?, 'StartOrchestration', 0, 0)").run(
      JSON.stringify(startItem("a")),
    );
    db.prepare("INSERT INTO instance_locks VALUES ('a', 'held-token', ?, 0)").run(Date.now() + 60_000);
    db.close();

    const p = await SqliteProvider.open(`sqlite:${file}`);
    try {
      const raw = p.unsafeRawDatabase();
      const sql = (raw.prepare("SELECT sql FROM sqlite_schema WHERE name = 'instance_locks'").get() as { sql: string }).sql;
      assert.match(sql, /WITHOUT ROWID/);
      assert.ok(raw.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'idx_instance_locks_token'").get());
      // The lock taken before the migration still holds: its instance is not handed out.
      assert.equal(await p.fetchOrchestrationItem(5_000), null);
      raw.prepare("UPDATE instance_locks SET locked_until = 0 WHERE instance_id = 'a'").run();
      assert.equal((await p.fetchOrchestrationItem(5_000))?.instance, "a");
    } finally {
      await p.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
