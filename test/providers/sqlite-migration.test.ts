// Opening a store created at schema version 1 applies migration 2: the instances.status column
// is backfilled from each instance's current execution, and paged listing works on old data.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, SqliteProvider } from "../../src/providers/sqlite/index.js";

it("sqlite: migration 2 backfills instance status on a version-1 store", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dx-mig-"));
  const file = join(dir, "old.db");
  try {
    const db = new Database(file);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'initial schema', 0)").run();
    const ins = db.prepare(
      "INSERT INTO instances (instance_id, orchestration_name, orchestration_version, current_execution_id, created_at, updated_at) VALUES (?, 'O', '1.0.0', ?, ?, ?)",
    );
    const exe = db.prepare("INSERT INTO executions (instance_id, execution_id, status, started_at) VALUES (?, ?, ?, 0)");
    ins.run("done", 1, 1, 1);
    exe.run("done", 1, "Completed");
    ins.run("chain", 2, 2, 2);
    exe.run("chain", 1, "ContinuedAsNew");
    exe.run("chain", 2, "Running");
    ins.run("bad", 1, 3, 3);
    exe.run("bad", 1, "Failed");
    db.close();

    const p = await SqliteProvider.open(`sqlite:${file}`);
    try {
      const admin = p.admin;
      assert.deepEqual((await admin.listInstancesPage({ status: "Completed" })).instanceIds, ["done"]);
      assert.deepEqual((await admin.listInstancesPage({ status: "Running" })).instanceIds, ["chain"]);
      assert.deepEqual((await admin.listInstancesPage({ status: "Failed" })).instanceIds, ["bad"]);
      assert.deepEqual((await admin.listInstancesPage()).instanceIds, ["bad", "chain", "done"]);
    } finally {
      await p.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
