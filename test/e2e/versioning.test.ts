import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext, Runtime } from "../../src/index.js";
import { SharedStore, until } from "./multi.js";
import { PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

function registerWho(rt: Runtime): void {
  rt.registerActivity("Who", async (ctx) => `${ctx.orchestrationName}@${ctx.orchestrationVersion}`);
}
const v1 = async (ctx: OrchestrationContext) => {
  await ctx.waitForEvent("go");
  return { code: "v1", act: await ctx.scheduleActivity("Who") };
};
const v2 = async (ctx: OrchestrationContext) => {
  await ctx.waitForEvent("go");
  return { code: "v2", act: await ctx.scheduleActivity("Who"), extra: await ctx.scheduleActivity("Who") };
};

describe(`[${kind}] versioning across a deploy`, () => {
  it("an in-flight instance stays pinned to v1 after a deploy adds v2; new instances start on v2", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      const a = await store.node((rt) => {
        registerWho(rt);
        rt.registerOrchestrationVersioned("Order", "1.0.0", v1);
      });
      await client.startOrchestration("old", "Order");
      await until(async () => (await client.getStatus("old")).status === "Running", 5_000, "old running");
      assert.equal((await client.getInstanceState("old")).orchestrationVersion, "1.0.0");
      await a.stop();

      // The deploy: a new process with v1 and v2 on the same store.
      await store.node((rt) => {
        registerWho(rt);
        rt.registerOrchestrationVersioned("Order", "1.0.0", v1);
        rt.registerOrchestrationVersioned("Order", "2.0.0", v2);
      });
      await client.raiseEvent("old", "go");
      const old = await client.waitForOrchestration("old", 5_000);
      assert.deepEqual(old.output, { code: "v1", act: "Order@1.0.0" });
      await client.startOrchestration("new", "Order");
      await client.raiseEvent("new", "go");
      const neu = await client.waitForOrchestration("new", 5_000);
      assert.deepEqual(neu.output, { code: "v2", act: "Order@2.0.0", extra: "Order@2.0.0" });
      assert.equal((await client.getInstanceState("new")).orchestrationVersion, "2.0.0");
      assert.equal((await client.getInstanceInfo("old")).orchestrationVersion, "1.0.0");
      assert.equal((await client.getInstanceInfo("new")).orchestrationVersion, "2.0.0");
      // Explicitly pinned new instance
      await client.startOrchestrationVersioned("pinned", "Order", null, "1.0.0");
      await client.raiseEvent("pinned", "go");
      assert.deepEqual((await client.waitForOrchestration("pinned", 5_000)).output, { code: "v1", act: "Order@1.0.0" });
    } finally {
      await store.close();
    }
  });

  it("continueAsNew moves to the latest version; continueAsNewVersioned to the named one", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node((rt) => {
        rt.registerOrchestrationVersioned("Hop", "1.0.0", async (ctx: OrchestrationContext, trail: string[]) => {
          const t = [...trail, ctx.orchestrationVersion];
          if (t.length >= 3) return t;
          return ctx.continueAsNew(t);
        });
        rt.registerOrchestrationVersioned("Hop", "2.0.0", async (ctx: OrchestrationContext, trail: string[]) =>
          ctx.continueAsNewVersioned([...trail, ctx.orchestrationVersion], "1.0.0"),
        );
      });
      await client.startOrchestrationVersioned("hop", "Hop", [], "1.0.0");
      const r = await client.waitForOrchestration("hop", 5_000);
      assert.deepEqual(r.output, ["1.0.0", "2.0.0", "1.0.0"]);
      const versions = [];
      for (const x of [1, 2, 3]) {
        const started = (await client.readHistory("hop", x))[0] as { version: string };
        versions.push(started.version);
      }
      assert.deepEqual(versions, ["1.0.0", "2.0.0", "1.0.0"]);
    } finally {
      await store.close();
    }
  });

  it("versioned sub-orchestrations and detached starts; version visible in activity context and status", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node((rt) => {
        registerWho(rt);
        rt.registerOrchestrationVersioned("Child", "1.0.0", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Who"));
        rt.registerOrchestrationVersioned("Child", "1.2.0", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Who"));
        rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => {
          const latest = await ctx.scheduleSubOrchestration("Child");
          const pinned = await ctx.scheduleSubOrchestrationVersioned("Child", "1.0.0");
          const pinnedId = await ctx.scheduleSubOrchestrationVersionedWithId("Child", "1.0.0", "child-fixed");
          await ctx.startOrchestrationVersioned("Child", "1.0.0", "detached-old");
          await ctx.startOrchestration("Child", "detached-new");
          return { latest, pinned, pinnedId };
        });
      });
      await client.startOrchestration("par", "Parent");
      const r = await client.waitForOrchestration("par", 5_000);
      assert.deepEqual(r.output, { latest: "Child@1.2.0", pinned: "Child@1.0.0", pinnedId: "Child@1.0.0" });
      assert.equal((await client.waitForOrchestration("detached-old", 5_000)).output, "Child@1.0.0");
      assert.equal((await client.waitForOrchestration("detached-new", 5_000)).output, "Child@1.2.0");
      assert.equal((await client.getInstanceState("child-fixed")).orchestrationVersion, "1.0.0");
      assert.equal((await client.getInstanceInfo("detached-new")).orchestrationVersion, "1.2.0");
    } finally {
      await store.close();
    }
  });
});

}
