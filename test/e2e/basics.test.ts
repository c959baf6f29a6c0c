import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

for (const replayEveryTurn of [false, true]) {
  describe(`[${kind}] basics (replayEveryTurn=${replayEveryTurn})`, () => {
    it("hello world: async orchestration with one activity", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);
          rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => {
            return await ctx.scheduleActivity("Greet", name);
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("h1", "Hello", "World");
        const r = await h.client.waitForOrchestration("h1", 5_000);
        assert.deepEqual(r, { status: "Completed", output: "Hello, World!", customStatusVersion: 0 });
      } finally {
        await h.close();
      }
    });

    it("generator orchestration with chained activities and a timer", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Add", async (_ctx, x: { a: number; b: number }) => x.a + x.b);
          rt.registerOrchestration("Chain", function* (ctx: OrchestrationContext, n: number) {
            let v = n;
            for (let i = 0; i < 5; i++) v = (yield ctx.scheduleActivity("Add", { a: v, b: i })) as number;
            yield ctx.scheduleTimer(5);
            return v;
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("c1", "Chain", 10);
        const r = await h.client.waitForOrchestration("c1", 5_000);
        assert.equal(r.status, "Completed");
        assert.equal(r.output, 20);
      } finally {
        await h.close();
      }
    });
  });
}

}
