// A client in the same process that sees an instance finish also sees the runtime's metrics count it:
// the terminal outcome is counted before any in-process waiter can observe the stored result. On
// PostgreSQL the waiter used to win whenever the ack still awaited its cross-process NOTIFY.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

const ROUNDS = 25;

for (const kind of PROVIDERS) {
  describe(`[${kind}] metrics visible once a wait returns`, () => {
    it(`metricsSnapshot counts every completion a waiter has seen (${ROUNDS} rounds)`, async () => {
      const h = await harness((rt) => {
        rt.registerActivity("Echo", async (_ctx, x: unknown) => x);
        rt.registerOrchestration("One", async (ctx: OrchestrationContext, x: number) => await ctx.scheduleActivity("Echo", x));
      }, {}, kind);
      try {
        for (let i = 1; i <= ROUNDS; i++) {
          await h.client.startOrchestration(`m-${i}`, "One", i);
          const r = await h.client.waitForOrchestration(`m-${i}`, 10_000);
          assert.equal(r.output, i);
          const snap = h.runtime.metricsSnapshot();
          assert.equal(snap.orchCompletions, i, `round ${i}: completions counted when the wait returned`);
          assert.equal(snap.activitySuccess, i, `round ${i}: activity successes`);
        }
      } finally {
        await h.close();
      }
    });
  });
}
