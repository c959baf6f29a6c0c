// SQLite-specific behaviour: URL forms, migrations, pragmas, durability across reopen,
// several connections on one file, error classification, and a throughput check.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { ProviderError } from "../../src/model/errors.js";
import { fixtures } from "../../src/providers/conformance/index.js";
import { MIGRATIONS, SqliteProvider, parseSqliteUrl, schemaVersion } from "../../src/providers/sqlite/index.js";
import { toProviderError } from "../../src/providers/sqlite/errors.js";

const { ack, activityItem, bootstrap, event, external, fetchFor, started, startItem } = fixtures;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "duroxide-sqlite-spec-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("sqlite provider specifics", () => {
  it("parses the accepted URL forms", () => {
    assert.deepEqual(parseSqliteUrl("sqlite:/abs/path.db"), { kind: "file", path: "/abs/path.db" });
    assert.deepEqual(parseSqliteUrl("sqlite:///abs/path.db"), { kind: "file", path: "/abs/path.db" });
    assert.deepEqual(parseSqliteUrl("sqlite:rel.db"), { kind: "file", path: resolve("rel.db") });
    assert.deepEqual(parseSqliteUrl("sqlite:./rel.db"), { kind: "file", path: resolve("rel.db") });
    assert.deepEqual(parseSqliteUrl("sqlite:/abs/x.db?mode=rwc"), { kind: "file", path: "/abs/x.db" });
    assert.deepEqual(parseSqliteUrl("/plain/path.db"), { kind: "file", path: "/plain/path.db" });
    assert.deepEqual(parseSqliteUrl("plain.db"), { kind: "file", path: resolve("plain.db") });
    assert.deepEqual(parseSqliteUrl("sqlite::memory:"), { kind: "memory" });
    assert.throws(() => parseSqliteUrl("sqlite:"));
  });

  it("opens every URL form, creating parent directories", async () => {
    await withDir(async (dir) => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const urls = [
          `sqlite:${join(dir, "a", "b", "abs.db")}`,
          "sqlite:rel.db",
          "sqlite:./sub/rel2.db",
          join(dir, "plain", "p.db"),
        ];
        for (const url of urls) {
          const p = await SqliteProvider.open(url);
          await bootstrap(p, "x");
          await p.close();
        }
        for (const f of ["a/b/abs.db", "rel.db", "sub/rel2.db", "plain/p.db"]) assert.ok(existsSync(join(dir, f)), f);
      } finally {
        process.chdir(cwd);
      }
    });
  });

  it("sets WAL, busy_timeout and the requested synchronous level", async () => {
    await withDir(async (dir) => {
      const p = await SqliteProvider.open(join(dir, "n.db"));
      const db = p.unsafeRawDatabase();
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("synchronous", { simple: true }), 1); // NORMAL
      assert.equal(db.pragma("busy_timeout", { simple: true }), 10000);
      await p.close();
      const f = await SqliteProvider.open(join(dir, "f.db"), { synchronous: "FULL" });
      assert.equal(f.unsafeRawDatabase().pragma("synchronous", { simple: true }), 2); // FULL
      await f.close();
    });
  });

  it("migrations run once and are idempotent on reopen", async () => {
    await withDir(async (dir) => {
      const url = `sqlite:${join(dir, "m.db")}`;
      for (let i = 0; i < 3; i++) {
        const p = await SqliteProvider.open(url);
        const db = p.unsafeRawDatabase();
        assert.equal(schemaVersion(db), MIGRATIONS.length);
        const rows = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[];
        assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
        await p.close();
      }
    });
  });

  it("data survives close and reopen", async () => {
    await withDir(async (dir) => {
      const url = `sqlite:${join(dir, "d.db")}`;
      let p = await SqliteProvider.open(url);
      await bootstrap(p, "a", {
        historyDelta: [
          event("a", 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" }),
          event("a", 1, 3, { type: "KeyValueSet", key: "k", value: "v", lastUpdatedAtMs: 5 }),
          event("a", 1, 4, { type: "CustomStatusUpdated", status: "busy" }),
        ],
        workerItems: [activityItem("a", 2)],
      });
      await p.enqueueForOrchestrator(external("a"));
      await p.close();

      p = await SqliteProvider.open(url);
      assert.equal((await p.read("a")).length, 4);
      const st = await p.getStatus("a");
      assert.equal(st?.customStatus, "busy");
      assert.equal(st?.customStatusVersion, 1);
      assert.equal(await p.getKvValue("a", "k"), "v");
      assert.deepEqual((await p.fetchWorkItem(5000, { tagFilter: { kind: "any" } }))?.item, activityItem("a", 2));
      const item = await fetchFor(p, "a");
      assert.equal(item.history.length, 4);
      assert.equal(item.messages[0]?.type, "ExternalRaised");
      await p.close();
    });
  });

  it("two connections on one file share locks and uniqueness", async () => {
    await withDir(async (dir) => {
      const url = join(dir, "shared.db");
      const p1 = await SqliteProvider.open(url);
      const p2 = await SqliteProvider.open(url);
      try {
        await p1.createInstance(startItem("a"));
        await assert.rejects(p2.createInstance(startItem("a")), /already exists/);
        const item = await p2.fetchOrchestrationItem(5000);
        assert.equal(item?.instance, "a");
        assert.equal(await p1.fetchOrchestrationItem(5000), null);
        await p1.ackOrchestrationItem(item!.lockToken, ack(1, { historyDelta: [started("a")] }));
        assert.equal((await p2.getStatus("a"))?.status, "Running");
      } finally {
        await p1.close();
        await p2.close();
      }
    });
  });

  it("unreadable queue rows are moved to dead_letters", async () => {
    const p = await SqliteProvider.inMemory();
    await p.createInstance(startItem("bad"));
    p.unsafeRawDatabase().prepare("UPDATE orchestrator_queue SET work_item = 'nope'").run();
    await p.enqueueForWorker(activityItem("x", 1));
    p.unsafeRawDatabase().prepare("UPDATE worker_queue SET work_item = '[]'").run();
    assert.equal(await p.fetchOrchestrationItem(1000), null);
    assert.equal(await p.fetchWorkItem(1000, { tagFilter: { kind: "any" } }), null);
    const dl = p.unsafeRawDatabase().prepare("SELECT queue, payload FROM dead_letters ORDER BY id").all();
    assert.deepEqual(dl, [
      { queue: "orchestrator", payload: "nope" },
      { queue: "worker", payload: "[]" },
    ]);
    await p.close();
  });

  it("a delayed start holds back earlier messages instead of dropping them", async () => {
    const p = await SqliteProvider.inMemory();
    await p.enqueueForOrchestrator(startItem("late"), { delayMs: 150 });
    await p.enqueueForOrchestrator(external("late"));
    assert.equal(await p.fetchOrchestrationItem(1000), null);
    await fixtures.sleep(220);
    const item = await p.fetchOrchestrationItem(1000);
    assert.deepEqual(item?.messages.map((m) => m.type), ["StartOrchestration", "ExternalRaised"]);
    await p.close();
  });

  it("classifies SQLite errors and rejects use after close", async () => {
    const busy = Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    const dup = Object.assign(new Error("UNIQUE constraint failed"), { code: "SQLITE_CONSTRAINT_PRIMARYKEY" });
    const b = toProviderError("op", busy);
    const d = toProviderError("op", dup);
    assert.ok(b instanceof ProviderError && b.retryable);
    assert.ok(d instanceof ProviderError && !d.retryable);
    assert.equal(b.message, "op: SQLITE_BUSY: database is locked");

    const p = await SqliteProvider.inMemory();
    await p.close();
    await p.close();
    await assert.rejects(p.fetchOrchestrationItem(1000), (err: unknown) => err instanceof ProviderError && !err.retryable);
    await assert.rejects(p.admin.listInstances(), ProviderError);
  });

  it("sustains a high fetch+ack rate on a file store", async (t) => {
    await withDir(async (dir) => {
      const p = await SqliteProvider.open(join(dir, "perf.db"));
      const n = 2000;
      for (let i = 0; i < n; i++) await p.createInstance(startItem(`i${i}`));
      const t0 = performance.now();
      let acked = 0;
      for (;;) {
        const item = await p.fetchOrchestrationItem(30_000);
        if (item === null) break;
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [started(item.instance), event(item.instance, 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" })],
            workerItems: [activityItem(item.instance, 2)],
          }),
        );
        acked++;
      }
      const orchRate = acked / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      let done = 0;
      for (;;) {
        const lease = await p.fetchWorkItem(30_000, { tagFilter: { kind: "defaultOnly" } });
        if (lease === null) break;
        await p.ackWorkItem(lease.lockToken, fixtures.completed(lease.item.instance, 2));
        done++;
      }
      const workRate = done / ((performance.now() - t1) / 1000);
      assert.equal(acked, n);
      assert.equal(done, n);
      t.diagnostic(`orchestration fetch+ack: ${orchRate.toFixed(0)}/s; worker fetch+ack: ${workRate.toFixed(0)}/s`);
      // Generous floor so slow CI machines pass; a typical machine does well over 2,000/s.
      assert.ok(orchRate > 500, `orchestration rate ${orchRate.toFixed(0)}/s`);
      assert.ok(workRate > 500, `worker rate ${workRate.toFixed(0)}/s`);
      await p.close();
    });
  });
});
