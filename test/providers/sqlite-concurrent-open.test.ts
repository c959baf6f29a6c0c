// Several processes opening one new SQLite file at the same moment all succeed (the switch to WAL
// used to fail with SQLITE_BUSY in about half of such rounds, busy timeout or not).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, SqliteProvider } from "../../src/index.js";

const CHILD = fileURLToPath(new URL("./sqlite-open-child.js", import.meta.url));

function openIn(db: string, at: number, id: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CHILD, "--open-child", db, String(at), id], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("exit", () => resolve(out.trim()));
  });
}

describe("SQLite: concurrent first open", () => {
  it("six processes creating one new file at the same instant all succeed, in every round", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-open-"));
    try {
      for (let round = 0; round < 8; round++) {
        const db = join(dir, `store-${round}.db`);
        // Children take a while to start on a busy machine: meet at an instant well ahead.
        const at = Date.now() + 2_000;
        const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => openIn(db, at, `r${round}-p${i}`)));
        assert.deepEqual(results, ["ok", "ok", "ok", "ok", "ok", "ok"], `round ${round}`);
        const p = await SqliteProvider.open(`sqlite:${db}`);
        try {
          // Every process's start was stored in the one file.
          assert.equal((await new Client(p).getQueueDepths()).orchestratorQueue, 6);
        } finally {
          await p.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
