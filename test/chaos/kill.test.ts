// Chaos: random kill-and-restart. Runtimes die abruptly at random moments (their provider stops
// reaching the store at once, then shutdown(0)) while faults are injected, and fresh runtimes with
// short lock timeouts take over on the same store, until every instance finished. The same
// invariants as faults.test.ts hold. Reproduce with CHAOS_SEED=<seed>; soak with CHAOS_SEEDS=<n>.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chaosProviders, chaosSeeds, envInt, runChaos } from "./run.js";

const SEEDS = chaosSeeds([7, 102]);
const INSTANCES = envInt("CHAOS_INSTANCES", 27);

for (const kind of chaosProviders()) {
  describe(`chaos: kill and restart runtimes (${kind})`, () => {
    for (const seed of SEEDS) {
      const replayEveryTurn = seed % 2 === 0;
      it(`seed ${seed}${replayEveryTurn ? ", replayEveryTurn" : ", cached"}`, { timeout: 120_000 }, async (t) => {
        const r = await runChaos({ kind, seed, replayEveryTurn, instances: INSTANCES, nodes: 3, kills: true, stepMs: 120 });
        t.diagnostic(r.summary);
        assert.deepEqual(r.problems, [], `CHAOS_SEED=${seed} (${kind}, kills) broke:\n${r.problems.join("\n")}`);
      });
    }
  });
}
