// The instance cache's bytes bound (instanceCacheMaxBytes): executions over it are evicted least
// recently used first and replay from history on their next turn, with the same results.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext, Runtime, RuntimeOptions } from "../../src/index.js";
import { harness, PROVIDERS, type ProviderKind } from "./harness.js";

const IDS = ["a", "b", "c"];

/**
 * Three instances take turns: each waits for two events, raised to one instance at a time, so
 * every turn is followed by the other instances' turns. Returns how often each handler was invoked
 * (once when its execution stays cached between turns, again on every turn that replays).
 */
async function rounds(kind: ProviderKind, options: RuntimeOptions): Promise<Map<string, number>> {
  const invocations = new Map<string, number>();
  const h = await harness(
    (rt: Runtime) => {
      rt.registerOrchestration("Rounds", async (ctx: OrchestrationContext, payload: string) => {
        invocations.set(ctx.instanceId, (invocations.get(ctx.instanceId) ?? 0) + 1);
        ctx.setValue("round", "0");
        let total = payload.length;
        for (let r = 1; r <= 2; r++) {
          total += (await ctx.waitForEvent<string>(`e${r}`)).length;
          ctx.setValue("round", String(r));
        }
        return total;
      });
    },
    options,
    kind,
  );
  try {
    const payload = "x".repeat(1_000);
    for (const id of IDS) {
      await h.client.startOrchestration(id, "Rounds", payload);
      await h.client.waitForValue(id, "round"); // one turn at a time: c is the last one put
    }
    for (let r = 1; r <= 2; r++) {
      for (const id of IDS) {
        await h.client.raiseEvent(id, `e${r}`, payload);
        const deadline = Date.now() + 10_000;
        while ((await h.client.getValue(id, "round")) !== String(r)) {
          assert.ok(Date.now() < deadline, `${id} never reached round ${r}`);
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    }
    for (const id of IDS) {
      const s = await h.client.waitForOrchestration(id, 10_000);
      assert.equal(s.status, "Completed");
      assert.equal(s.output, 3_000);
    }
    return invocations;
  } finally {
    await h.close();
  }
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] instance cache bytes bound`, () => {
    it("keeps every execution within the default bound: each handler runs once", async () => {
      const runs = await rounds(kind, {});
      for (const id of IDS) assert.equal(runs.get(id), 1, id);
    });

    it("evicts over the bound: each turn after another instance's replays, with the same results", async () => {
      // Every execution holds over 1 KB of payloads: a bound of 1 byte keeps only the one put last.
      // a and b replay on both rounds; so does c on round 1, but on round 2 a and b finish (a
      // finished execution is dropped, not put), so c's last turn still finds its own.
      const runs = await rounds(kind, { instanceCacheMaxBytes: 1 });
      assert.deepEqual([...runs].sort(), [["a", 3], ["b", 3], ["c", 2]]);
    });
  });
}
