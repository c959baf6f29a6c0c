// In-code patching on both stores: an instance that ran past the patched point on code without
// the patch stays on the old path after a restart onto patched code; an instance reaching the point
// for the first time on patched code takes the new path (a PatchMarker in history) and replays it;
// deprecatePatch keeps marked instances replaying once the old path is deleted.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext, Runtime } from "../../src/index.js";
import { PROVIDERS } from "./harness.js";
import { SharedStore, until } from "./multi.js";

type Code = "old" | "patched" | "deprecated" | "removed";

function register(code: Code, rt: Runtime): void {
  rt.registerActivity("Reserve", async () => "reserved");
  rt.registerActivity("ChargeOld", async () => "charged (old)");
  rt.registerActivity("ChargeFixed", async () => "charged (fixed)");
  rt.registerOrchestration("Order", async (ctx: OrchestrationContext) => {
    const reserved = await ctx.scheduleActivity<string>("Reserve", null);
    await ctx.waitForEvent("pay");
    // The patched point: the charge.
    let charged: string;
    if (code === "old") charged = await ctx.scheduleActivity<string>("ChargeOld", null);
    else if (code === "patched") {
      charged = ctx.patched("fix-charge")
        ? await ctx.scheduleActivity<string>("ChargeFixed", null)
        : await ctx.scheduleActivity<string>("ChargeOld", null);
    } else {
      if (code === "deprecated") ctx.deprecatePatch("fix-charge");
      charged = await ctx.scheduleActivity<string>("ChargeFixed", null);
    }
    await ctx.waitForEvent("ship");
    return [reserved, charged];
  });
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] ctx.patched / ctx.deprecatePatch`, () => {
    for (const replayEveryTurn of [false, true]) {
      it(`old instances keep the old path across a restart; new ones take the patch and replay it (replayEveryTurn=${replayEveryTurn})`, async () => {
        const store = new SharedStore(kind);
        try {
          const client = await store.client();
          const opts = { replayEveryTurn };
          const waits = async (id: string, n: number): Promise<void> =>
            until(async () => (await client.readHistory(id)).filter((e) => e.type === "ExternalSubscribed").length === n, 5_000, `${id} waits`);
          const markers = async (id: string): Promise<string[]> =>
            (await client.readHistory(id)).filter((e) => e.type === "PatchMarker").map((e) => (e as { patchId: string }).patchId);

          // 1. Code without the patch. "passed" goes through the patched point (ChargeOld in its
          //    history); "midway" stops before it.
          const v1 = await store.node((rt) => register("old", rt), opts);
          await client.startOrchestration("passed", "Order", null);
          await client.startOrchestration("midway", "Order", null);
          await waits("passed", 1);
          await waits("midway", 1);
          await client.raiseEvent("passed", "pay", null);
          await waits("passed", 2);
          await v1.stop();

          // 2. Restart on patched code.
          const v2 = await store.node((rt) => register("patched", rt), opts);
          await client.startOrchestration("fresh", "Order", null);
          await waits("fresh", 1);
          await client.raiseEvent("fresh", "pay", null);
          await client.raiseEvent("midway", "pay", null);
          await client.raiseEvent("passed", "ship", null);
          const passed = await client.waitForOrchestration("passed", 5_000);
          assert.equal(passed.status, "Completed", JSON.stringify(passed));
          assert.deepEqual(passed.output, ["reserved", "charged (old)"], "replaying old history keeps the old path");
          assert.deepEqual(await markers("passed"), []);
          await waits("fresh", 2);
          await waits("midway", 2);
          assert.deepEqual(await markers("fresh"), ["fix-charge"]);
          // Reaching the patch for the first time on patched code takes it, even if started earlier.
          assert.deepEqual(await markers("midway"), ["fix-charge"]);
          await v2.stop();

          // 3. Another restart, still patched: the marked instance replays its new path.
          const v3 = await store.node((rt) => register("patched", rt), opts);
          await client.raiseEvent("fresh", "ship", null);
          const fresh = await client.waitForOrchestration("fresh", 5_000);
          assert.equal(fresh.status, "Completed", JSON.stringify(fresh));
          assert.deepEqual(fresh.output, ["reserved", "charged (fixed)"]);
          await v3.stop();

          // 4. Cleanup step: deprecatePatch replaces the branch; marked instances still replay, and
          //    new instances record nothing.
          const v4 = await store.node((rt) => register("deprecated", rt), opts);
          await client.startOrchestration("newest", "Order", null);
          await waits("newest", 1);
          await client.raiseEvent("newest", "pay", null);
          await waits("newest", 2);
          assert.deepEqual(await markers("newest"), []);
          await v4.stop();

          // 5. Deleting the call while a marked instance still runs is reported as nondeterminism;
          //    instances without the marker are unaffected.
          const v5 = await store.node((rt) => register("removed", rt), opts);
          await client.raiseEvent("midway", "ship", null);
          const midway = await client.waitForOrchestration("midway", 5_000);
          assert.equal(midway.status, "Failed");
          assert.match(midway.error ?? "", /nondeterministic: .*PatchMarker 'fix-charge'/);
          await client.raiseEvent("newest", "ship", null);
          const newest = await client.waitForOrchestration("newest", 5_000);
          assert.deepEqual(newest.output, ["reserved", "charged (fixed)"]);
          await v5.stop();
        } finally {
          await store.close();
        }
      });
    }
  });
}
