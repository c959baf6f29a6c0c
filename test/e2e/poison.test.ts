import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { SharedStore, sleep } from "./multi.js";
import { PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

// Unregistered handlers are put back with 1 s, 2 s, ... backoff; maxAttempts: 2 keeps these short
// (fetch 1 → +1 s, fetch 2 → +2 s, fetch 3 poisons).
describe(`[${kind}] poison and rolling deploys`, () => {
  it("an unregistered orchestration is retried with backoff, then poisons with an error naming it", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(() => undefined, { maxAttempts: 2 });
      const t0 = Date.now();
      await client.startOrchestration("ghost", "GhostOrchestration", { x: 1 });
      const r = await client.waitForOrchestration("ghost", 10_000);
      const elapsed = Date.now() - t0;
      assert.equal(r.status, "Failed");
      assert.equal(r.error, "poison: orchestration ghost exceeded 3 attempts (max 2)");
      assert.ok(elapsed >= 2_900, `backoff 1 s + 2 s before poisoning, took ${elapsed} ms`);
      const st = await client.getInstanceState("ghost");
      assert.equal(st.failure?.category(), "poison");
      assert.match(JSON.stringify(st.failure?.data), /GhostOrchestration/);
      assert.equal(st.orchestrationName, "GhostOrchestration");
    } finally {
      await store.close();
    }
  });

  it("an unregistered activity is retried with backoff, then poisons and fails its orchestration", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(
        (rt) => {
          rt.registerOrchestration("NeedsMissing", async (ctx: OrchestrationContext) => {
            try {
              return await ctx.scheduleActivity("MissingActivity", 1);
            } catch {
              return "caught"; // poison is not the code's to handle
            }
          });
        },
        { maxAttempts: 2 },
      );
      await client.startOrchestration("needs", "NeedsMissing");
      const r = await client.waitForOrchestration("needs", 10_000);
      assert.equal(r.status, "Failed");
      assert.equal(r.error, "poison: activity MissingActivity#2 exceeded 3 attempts (max 2)");
      const hist = await client.readHistory("needs");
      const failed = hist.find((e) => e.type === "ActivityFailed") as { details: { category: string } } | undefined;
      assert.equal(failed?.details.category, "poison");
    } finally {
      await store.close();
    }
  });

  it("rolling deploy: a new process that registers the handlers picks the work up before it poisons", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      // Old process: knows neither the new orchestration nor the new activity.
      const old = await store.node(
        (rt) => {
          rt.registerOrchestration("Existing", async (ctx: OrchestrationContext) => ctx.scheduleActivity("NewActivity", 2));
        },
        { maxAttempts: 2 },
      );
      await client.startOrchestration("new-orch", "NewOrchestration", 5);
      await client.startOrchestration("existing", "Existing");
      await sleep(400); // the old process fetched both and put them back
      const hist = await client.readHistory("existing");
      assert.ok(hist.some((e) => e.type === "ActivityScheduled"), "the activity waits in the queue");
      assert.equal((await client.getStatus("new-orch")).status, "NotFound", "the start waits in the queue");
      await old.stop();
      await store.node(
        (rt) => {
          rt.registerActivity("NewActivity", async (_c, x: number) => x * 10);
          rt.registerOrchestration("Existing", async (ctx: OrchestrationContext) => ctx.scheduleActivity("NewActivity", 2));
          rt.registerOrchestration("NewOrchestration", async (ctx: OrchestrationContext, x: number) => ctx.scheduleActivity("NewActivity", x));
        },
        { maxAttempts: 2 },
      );
      assert.equal((await client.waitForOrchestration("new-orch", 10_000)).output, 50);
      assert.equal((await client.waitForOrchestration("existing", 10_000)).output, 20);
    } finally {
      await store.close();
    }
  });
});

}
