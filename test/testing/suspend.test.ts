// onNondeterminism: "suspend": an instance whose new code does not replay stays Running, shows the
// error, is not retried in a hot loop, and resumes by itself once fitting code runs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Runtime, type OrchestrationContext, type RuntimeOptions } from "../../src/index.js";
import { openStore, PROVIDERS } from "../e2e/harness.js";

const good = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Step", 1);
  await ctx.waitForEvent("go");
  return ctx.scheduleActivity("Step", 2);
};
let brokenRuns = 0;
const broken = async (ctx: OrchestrationContext) => {
  brokenRuns++;
  await ctx.scheduleActivity("Charge", 1); // BROKEN-CALL
  await ctx.waitForEvent("go");
  return ctx.scheduleActivity("Step", 2);
};

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of PROVIDERS) describe(`onNondeterminism (${kind})`, () => {
  it('"suspend": the instance stays Running with the error visible, is not retried in a hot loop, and resumes once the fixed code runs', async () => {
    const store = await openStore(kind);
    const node = async (handler: typeof good, options: RuntimeOptions = {}) => {
      const p = await store.open();
      const rt = new Runtime(p, { logLevel: "error", dispatcherPollIntervalMs: 10, ...options });
      rt.registerActivity("Step", async (_c, n: number) => n);
      rt.registerActivity("Charge", async (_c, n: number) => n);
      rt.registerOrchestration("Flow", handler);
      await rt.start();
      return {
        rt,
        stop: async () => {
          await rt.shutdown(200);
          await p.close();
        },
      };
    };
    try {
      const v1 = await node(good);
      await v1.rt.client.startOrchestration("s-1", "Flow");
      await until("waiting for go", async () => (await v1.rt.client.readHistory("s-1")).some((e) => e.type === "ExternalSubscribed"));
      await v1.stop();

      // A bad deploy: the first call changed. maxAttempts 2 would poison it if suspensions counted.
      const bad = await node(broken, { onNondeterminism: "suspend", nondeterminismRetryMs: 300, maxAttempts: 2 });
      const c = bad.rt.client;
      await c.raiseEvent("s-1", "go");
      const st = await until("suspension", async () => {
        const s = await c.getStatus("s-1");
        return s.suspension ? s : null;
      });
      assert.equal(st.status, "Running");
      assert.match(st.suspension!, /nondeterministic: .*Charge/);
      assert.match(st.suspension!, /suspend\.test\.js:\d+:\d+/);
      const state = await c.getInstanceState("s-1");
      assert.equal(state.status, "Running");
      assert.equal(state.suspension?.category(), "configuration");
      // No hot loop: about one replay per retry interval.
      const runs0 = brokenRuns;
      await new Promise((r) => setTimeout(r, 1_200));
      const replays = brokenRuns - runs0;
      assert.ok(replays >= 1 && replays <= 6, `${replays} replays in 1.2 s`);
      assert.equal((await c.getStatus("s-1")).status, "Running", "never failed, never poisoned");
      const history = await c.readHistory("s-1");
      assert.ok(!history.some((e) => e.type === "OrchestrationFailed"));
      assert.ok(!history.some((e) => e.type === "ExternalEvent"), "the suspended turn stored nothing");
      await bad.stop();

      // The fix (or a rollback) is deployed: the instance continues by itself.
      const fixed = await node(good);
      const r = await fixed.rt.client.waitForOrchestration("s-1", 10_000);
      assert.equal(r.status, "Completed", r.error);
      assert.equal(r.output, 2);
      assert.equal((await fixed.rt.client.getStatus("s-1")).suspension, undefined);
      assert.equal((await fixed.rt.client.getInstanceState("s-1")).suspension, null);

      // Default "fail": the same divergence fails the instance.
      await fixed.rt.client.startOrchestration("f-1", "Flow");
      await until("f-1 waiting", async () => (await fixed.rt.client.readHistory("f-1")).some((e) => e.type === "ExternalSubscribed"));
      await fixed.stop();
      const failing = await node(broken);
      await failing.rt.client.raiseEvent("f-1", "go");
      const f = await failing.rt.client.waitForOrchestration("f-1", 10_000);
      assert.equal(f.status, "Failed");
      assert.match(f.error ?? "", /nondeterministic: .*Charge/);
      await failing.stop();
    } finally {
      await store.destroy();
    }
  });
});
