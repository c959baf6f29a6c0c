// Chaos: runtimes on one real store behind fault-injecting providers (errors before and after real
// commits, delays past lock timeouts, lost notifications), on the cached path and with
// replayEveryTurn. Every instance must finish with its expected output, histories must be
// gap-free with one terminal event and replay cold to the same final turn, and no activity may run
// again once its completion was committed.
// Reproduce a failure with CHAOS_SEED=<seed>; soak with CHAOS_SEEDS=<n> (CHAOS_INSTANCES, CHAOS_SEED_BASE).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chaosProviders, chaosSeeds, envInt, runChaos } from "./run.js";

const SEEDS = chaosSeeds([11, 29]);
const INSTANCES = envInt("CHAOS_INSTANCES", 18);

for (const kind of chaosProviders()) {
  describe(`chaos: injected provider faults (${kind})`, () => {
    for (const seed of SEEDS) {
      for (const replayEveryTurn of [false, true]) {
        it(`seed ${seed}${replayEveryTurn ? ", replayEveryTurn" : ", cached"}`, { timeout: 120_000 }, async (t) => {
          const r = await runChaos({ kind, seed, replayEveryTurn, instances: INSTANCES, nodes: 3, kills: false });
          t.diagnostic(r.summary);
          assert.deepEqual(r.problems, [], `CHAOS_SEED=${seed} (${kind}, replayEveryTurn=${replayEveryTurn}) broke:\n${r.problems.join("\n")}`);
        });
      }
    }
  });
}
