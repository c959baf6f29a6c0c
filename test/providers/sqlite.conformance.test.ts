// Runs the provider conformance suite against SQLite: a fresh database FILE per test, and in memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { runProviderConformance, type ProviderFactory } from "../../src/providers/conformance/index.js";
import type { Provider } from "../../src/providers/provider.js";
import { SqliteProvider } from "../../src/providers/sqlite/index.js";

function asSqlite(p: Provider): SqliteProvider {
  if (!(p instanceof SqliteProvider)) throw new Error("not a SqliteProvider");
  return p;
}

const faults: Pick<ProviderFactory, "corruptHistory" | "corruptQueueRow"> = {
  async corruptHistory(p, instance) {
    asSqlite(p)
      .unsafeRawDatabase()
      .prepare(
        `UPDATE history SET event_data = '{not json' WHERE instance_id = ?
           AND execution_id = (SELECT current_execution_id FROM instances WHERE instance_id = ?)
           AND event_id = (SELECT MIN(event_id) FROM history WHERE instance_id = ?)`,
      )
      .run(instance, instance, instance);
  },
  async corruptQueueRow(p) {
    asSqlite(p)
      .unsafeRawDatabase()
      .prepare("UPDATE orchestrator_queue SET work_item = '{\"broken' WHERE id = (SELECT MAX(id) FROM orchestrator_queue)")
      .run();
  },
};

const dirs = new Map<Provider, string>();

runProviderConformance("sqlite (file)", {
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "duroxide-sqlite-"));
    const p = await SqliteProvider.open(`sqlite:${join(dir, "store.db")}`);
    dirs.set(p, dir);
    return p;
  },
  async destroy(p) {
    await p.close();
    const dir = dirs.get(p);
    dirs.delete(p);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  ...faults,
}, { drainHints: true, ackLeases: true, batchFetch: true, completionTurns: true, startTurns: true });

runProviderConformance("sqlite (memory)", {
  create: () => SqliteProvider.inMemory(),
  ...faults,
}, { drainHints: true, ackLeases: true, batchFetch: true, completionTurns: true, startTurns: true });
