// verifyInFlight: on a store with mixed instances it names exactly those the new code would break,
// and writes nothing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { verifyInFlight, NondeterminismError, OrchestrationNotRegisteredError } from "../../src/testing/index.js";
import { openStore, PROVIDERS } from "../e2e/harness.js";

const flowV1 = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Step", 1);
  await ctx.waitForEvent("go");
  await ctx.scheduleActivity("Step", 2);
  await ctx.waitForEvent("end");
  return "done";
};
/** The deploy changes the second step: instances past "go" cannot continue on it. */
const flowV1Changed = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Step", 1);
  await ctx.waitForEvent("go");
  await ctx.scheduleActivity("StepTwo", 2);
  await ctx.waitForEvent("end");
  return "done";
};
const other = async (ctx: OrchestrationContext) => {
  await ctx.scheduleTimer(60_000);
  return "late";
};

async function until(what: string, f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] verifyInFlight`, () => {
    it("finds exactly the running instances the new code would break", async () => {
      const store = await openStore(kind);
      const provider = await store.open();
      const old = new Runtime(provider, { logLevel: "error", dispatcherPollIntervalMs: 20 });
      old.registerActivity("Step", async (_c, n: number) => n);
      old.registerActivity("StepTwo", async (_c, n: number) => n);
      old.registerOrchestration("Flow", flowV1);
      old.registerOrchestration("Other", other);
      old.registerOrchestration("Retired", async (ctx: OrchestrationContext) => ctx.waitForEvent("x"));
      await old.start();
      const c = old.client;
      try {
        const events = async (id: string) => (await c.readHistory(id)).length;
        for (const id of ["early-1", "early-2", "late-1", "late-2", "finished"]) await c.startOrchestration(id, "Flow");
        await c.startOrchestration("other-1", "Other");
        await c.startOrchestration("retired-1", "Retired");
        // early: waiting for "go" (safe); late: past step 2 (broken); finished: not checked.
        for (const id of ["early-1", "early-2", "late-1", "late-2", "finished"]) await until(`${id} waits for go`, async () => (await events(id)) >= 4);
        for (const id of ["late-1", "late-2", "finished"]) await c.raiseEvent(id, "go");
        for (const id of ["late-1", "late-2", "finished"]) await until(`${id} waits for end`, async () => (await events(id)) >= 8);
        await c.raiseEvent("finished", "end");
        await c.waitForOrchestration("finished", 10_000);
        await until("other started", async () => (await events("other-1")) >= 2);
        await until("retired started", async () => (await events("retired-1")) >= 2);
        await old.shutdown(200);

        const snapshot = async () => {
          const out: Record<string, number> = {};
          for (const id of await c.listAllInstances()) out[id] = await events(id);
          return { histories: out, queues: await c.getQueueDepths() };
        };
        const before = await snapshot();

        const next = new Runtime(provider, { logLevel: "error" });
        next.registerOrchestration("Flow", flowV1Changed);
        next.registerOrchestration("Other", other);
        const r = await verifyInFlight(provider, next);
        assert.equal(r.checked, 6);
        assert.deepEqual(r.failures.map((f) => f.instanceId), ["late-1", "late-2", "retired-1"]);
        const late = r.failures[0]!.error;
        assert.ok(late instanceof NondeterminismError, String(late));
        assert.match(late.message, /StepTwo/);
        assert.match(late.location ?? "", /verify\.test\.js:\d+:\d+$/);
        assert.ok(r.failures[2]!.error instanceof OrchestrationNotRegisteredError);

        // The same code as before passes everything.
        const same = new Runtime(provider, { logLevel: "error" });
        same.registerOrchestration("Flow", flowV1);
        same.registerOrchestration("Other", other);
        same.registerOrchestration("Retired", async (ctx: OrchestrationContext) => ctx.waitForEvent("x"));
        assert.deepEqual(await verifyInFlight(provider, same), { checked: 6, failures: [] });

        assert.deepEqual(await snapshot(), before, "verifyInFlight wrote nothing");
      } finally {
        await old.shutdown(200);
        await provider.close();
        await store.destroy();
      }
    });
  });
}
