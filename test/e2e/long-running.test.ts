import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProviderError, type OrchestrationContext, type Provider, type Runtime } from "../../src/index.js";
import { SharedStore, sleep } from "./multi.js";
import { PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

/** Delegates everything to the real provider; renewWorkItemLock fails once with a retryable error. */
function flakyRenewal(p: Provider, counter: { renewals: number; injected: number }): Provider {
  return new Proxy(p, {
    get(target, prop, receiver) {
      if (prop === "renewWorkItemLock") {
        return async (token: string, ms: number) => {
          counter.renewals++;
          if (counter.injected === 0) {
            counter.injected++;
            throw new ProviderError("renewWorkItemLock", "database is locked (SQLITE_BUSY)", true);
          }
          return target.renewWorkItemLock(token, ms);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe(`[${kind}] long-running activities`, () => {
  const setup = (runs: { n: number; cancelled: boolean[] }) => (rt: Runtime) => {
    rt.registerActivity("Long", async (ctx) => {
      runs.n++;
      await sleep(1_000);
      runs.cancelled.push(ctx.isCancelled());
      return `done after 1 s on ${ctx.workerId}`;
    });
    rt.registerOrchestration("LongOrch", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Long"));
  };

  it("an activity running 3× its lock timeout is renewed: not run twice, not lost (two workers competing)", async () => {
    const store = new SharedStore(kind);
    const runs = { n: 0, cancelled: [] as boolean[] };
    try {
      const client = await store.client();
      await store.node(setup(runs), { workerLockTimeoutMs: 300, workerNodeId: "w1" });
      await store.node(setup(runs), { workerLockTimeoutMs: 300, workerNodeId: "w2" });
      await client.startOrchestration("long", "LongOrch");
      const r = await client.waitForOrchestration("long", 10_000);
      assert.equal(r.status, "Completed");
      assert.match(String(r.output), /^done after 1 s on work-w[12]$/);
      await sleep(500); // would a second copy start after a lost lock?
      assert.equal(runs.n, 1, "ran exactly once");
      assert.deepEqual(runs.cancelled, [false]);
      const hist = await client.readHistory("long");
      assert.equal(hist.filter((e) => e.type === "ActivityCompleted").length, 1);
    } finally {
      await store.close();
    }
  });

  it("a transient (retryable) renewal error is not a cancellation", async () => {
    const store = new SharedStore(kind);
    const runs = { n: 0, cancelled: [] as boolean[] };
    const counter = { renewals: 0, injected: 0 };
    try {
      const client = await store.client();
      await store.node(setup(runs), { workerLockTimeoutMs: 300 }, (p) => flakyRenewal(p, counter));
      await client.startOrchestration("flaky", "LongOrch");
      const r = await client.waitForOrchestration("flaky", 10_000);
      assert.equal(r.status, "Completed");
      assert.equal(counter.injected, 1, "one renewal failed");
      assert.ok(counter.renewals >= 3, `renewals continued after the failure (${counter.renewals})`);
      assert.equal(runs.n, 1);
      assert.deepEqual(runs.cancelled, [false], "the activity was never signalled");
    } finally {
      await store.close();
    }
  });
});

}
