import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { SharedStore, sleep } from "./multi.js";
import { PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

// Unregistered handlers are put back with 1 s, 2 s, ... backoff and given up at the maxAttempts-th
// fetch; maxAttempts: 2 keeps these short (fetch 1 → +1 s, fetch 2 gives up).
describe(`[${kind}] poison and rolling deploys`, () => {
  it("an unregistered orchestration is retried with backoff, then fails saying no runtime had it, how often and how long", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(() => undefined, { maxAttempts: 2 });
      const t0 = Date.now();
      await client.startOrchestration("ghost", "GhostOrchestration", { x: 1 });
      const r = await client.waitForOrchestration("ghost", 10_000);
      const elapsed = Date.now() - t0;
      assert.equal(r.status, "Failed");
      assert.match(
        r.error ?? "",
        /^poison: orchestration 'GhostOrchestration' \(instance ghost\) is not registered on any runtime that fetched it; tried 2 times over \d+\.\d s \(maxAttempts 2\)$/,
      );
      assert.ok(elapsed >= 900, `one 1 s backoff before giving up, took ${elapsed} ms`);
      const st = await client.getInstanceState("ghost");
      assert.equal(st.failure?.category(), "poison");
      const data = st.failure?.data;
      assert.ok(data?.category === "poison" && data.notRegistered, "the failure records the unregistered name");
      assert.equal(data.notRegistered.name, "GhostOrchestration");
      assert.equal(data.notRegistered.atLeast, undefined, "measured from the client's start, not estimated");
      assert.ok(
        data.notRegistered.triedForMs >= 900 && data.notRegistered.triedForMs <= elapsed + 50,
        `tried for ${data.notRegistered.triedForMs} ms, the wait took ${elapsed} ms`,
      );
      assert.equal(data.attemptCount, 2);
      assert.equal(st.orchestrationName, "GhostOrchestration");
    } finally {
      await store.close();
    }
  });

  it("an unregistered activity is retried with backoff, then fails its orchestration saying no runtime had it", async () => {
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
      assert.match(
        r.error ?? "",
        /^poison: activity 'MissingActivity' \(#2 of needs\) is not registered on any runtime that fetched it; tried 2 times over \d+\.\d s \(maxAttempts 2\)$/,
      );
      const hist = await client.readHistory("needs");
      const failed = hist.find((e) => e.type === "ActivityFailed");
      assert.ok(failed?.type === "ActivityFailed" && failed.details.category === "poison");
      assert.ok(failed.details.notRegistered, "the failure records the unregistered name");
      assert.ok(failed.details.notRegistered.triedForMs >= 900, `measured from ActivityScheduled: ${failed.details.notRegistered.triedForMs} ms`);
      // The management view tags it the way the reference serialises a poison error.
      const view = (await client.readExecutionHistory("needs", 1)).find((e) => e.kind === "ActivityFailed");
      const tagged = JSON.parse(view?.data ?? "null") as { Poison?: { attempt_count: number; message_type: { Activity?: { activity_name: string } } } };
      assert.equal(tagged.Poison?.attempt_count, 2);
      assert.equal(tagged.Poison?.message_type.Activity?.activity_name, "MissingActivity");
    } finally {
      await store.close();
    }
  });

  it("maxAttempts: 1 gives an unregistered start up at its first fetch", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(() => undefined, { maxAttempts: 1 });
      const t0 = Date.now();
      await client.startOrchestration("ghost-1", "GhostOrchestration");
      const r = await client.waitForOrchestration("ghost-1", 10_000);
      assert.match(r.error ?? "", /is not registered on any runtime that fetched it; tried 1 time over \d+ ms \(maxAttempts 1\)$/);
      assert.ok(Date.now() - t0 < 900, "no backoff wait");
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
