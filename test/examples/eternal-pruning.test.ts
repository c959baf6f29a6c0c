// The eternal-pruning example: an orchestration that prunes its own old executions via ctx.getClient().
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../examples/eternal-pruning.js";

describe("example: eternal-pruning", () => {
  it("prunes to the last 3 executions every 4 rounds (in memory)", async () => {
    const r = await main({ quiet: true });
    // Round 4 deletes exec 1; round 8 deletes 2-5; round 12 deletes 6-9.
    assert.equal(r.rounds, 12);
    assert.equal(r.prunedByOrchestration, 9);
    assert.deepEqual(r.executionsLeft, [10, 11, 12]);
    assert.ok(r.historyEventCount > 0);
  });

  it("works on a SQLite file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-eternal-"));
    try {
      const r = await main({ quiet: true, storeUrl: `sqlite:${join(dir, "s.db")}`, rounds: 6, keepLast: 2, pruneEvery: 3 });
      // Round 3 deletes exec 1; round 6 deletes 2-4.
      assert.equal(r.prunedByOrchestration, 4);
      assert.deepEqual(r.executionsLeft, [5, 6]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
