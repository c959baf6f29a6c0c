// A child whose stored history cannot be decoded is poisoned after maxAttempts: it ends Failed
// with its failure right after its last event (no magic event id), and its parent hears about it
// (SubOrchestrationFailed) instead of waiting forever.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type OrchestrationContext, type Provider } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";
import { rawWrite } from "./rawStore.js";

async function corruptEvent(provider: Provider, instance: string, eventId: number): Promise<void> {
  await rawWrite(provider, "UPDATE history SET event_data = '{broken' WHERE instance_id = $1 AND event_id = $2", [instance, eventId]);
}

for (const kind of PROVIDERS) {
  describe(`corrupt history (${kind})`, () => {
    it("the child is failed and its parent is notified", { timeout: 60_000 }, async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Child", async (ctx: OrchestrationContext) => ctx.waitForEvent("go"));
          rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestrationWithId("Child", "child-1", null));
        },
        // No cached live state: the next turn reads the (corrupted) history, as another process would.
        { maxAttempts: 2, instanceCacheSize: 0 },
        kind,
      );
      try {
        await h.client.startOrchestration("parent-1", "Parent", null);
        for (let i = 0; (await h.client.getStatus("child-1")).status !== "Running"; i++) {
          assert.ok(i < 500, "child did not start");
          await new Promise((r) => setTimeout(r, 20));
        }
        const before = await h.client.readHistory("child-1");
        // Event 1 is OrchestrationStarted, which names the parent: the parent must be found anyway.
        await corruptEvent(h.provider, "child-1", 1);
        await h.client.raiseEvent("child-1", "go", 1);
        const child = await h.client.waitForOrchestration("child-1", 30_000);
        assert.equal(child.status, "Failed");
        const parent = await h.client.waitForOrchestration("parent-1", 30_000);
        assert.equal(parent.status, "Failed", JSON.stringify(parent));
        assert.match(String(parent.error), /child-1 history deserialization failed/);
        const info = await h.client.getExecutionInfo("child-1", 1);
        assert.equal(info.eventCount, before.length + 1, "the failure is appended after the last event");
      } finally {
        await h.close();
      }
    });
  });
}
