// Deterministic regressions for failures the chaos runs found, on every provider.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PROVIDERS, type ProviderKind } from "../e2e/harness.js";
import { SharedStore, until } from "../e2e/multi.js";
import type { Provider, Runtime } from "../../src/index.js";
import type { AckResult, WorkItemLease } from "../../src/providers/provider.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A provider whose first activity lease reaches the caller `delayMs` after the store granted it. */
/**
 * The first activity lease answers `delayMs` late, whether it comes from a fetch or straight from
 * the orchestrator's ack (`leaseWorkerItems`).
 */
function slowFirstLease(inner: Provider, delayMs: number, onGranted: () => void): Provider {
  let first = true;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "ackOrchestrationItem")
        return async (...args: Parameters<Provider["ackOrchestrationItem"]>): Promise<AckResult | void> => {
          const result = await target.ackOrchestrationItem(...args);
          if (result && result.leases.length > 0 && first) {
            first = false;
            onGranted();
            await sleep(delayMs);
          }
          return result;
        };
      // Single fetches only, so the first lease is the one delayed here.
      if (prop === "fetchWorkItems") return undefined;
      if (prop === "fetchWorkItem")
        return async (...args: Parameters<Provider["fetchWorkItem"]>): Promise<WorkItemLease | null> => {
          const lease = await target.fetchWorkItem(...args);
          if (lease && first) {
            first = false;
            onGranted();
            await sleep(delayMs);
          }
          return lease;
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A provider whose first activity lock renewal is run by the store at once but answered `delayMs` late. */
function slowFirstRenewal(inner: Provider, delayMs: number): Provider {
  let first = true;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "renewWorkItemLock")
        return async (...args: Parameters<Provider["renewWorkItemLock"]>): Promise<void> => {
          await target.renewWorkItemLock(...args);
          if (first) {
            first = false;
            await sleep(delayMs);
          }
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Runtime A (its provider wrapped by `slowA`) is granted the one activity's lease; runtime B then
 * joins, the instance completes, and after `settleMs` (A's late answers have arrived) the runs of
 * the activity are returned, as "A:<input>" / "B:<input>".
 */
async function lateLeaseRuns(
  kind: ProviderKind,
  instance: string,
  workerLockTimeoutMs: number,
  slowA: (p: Provider, granted: () => void) => Provider,
  settleMs: number,
): Promise<string[]> {
  const store = new SharedStore(kind);
  try {
    const runs: string[] = [];
    const setup = (name: string) => (rt: Runtime) => {
      rt.registerActivity("Work", async (_ctx, input: string) => {
        runs.push(`${name}:${input}`);
        return `done:${input}`;
      });
      rt.registerOrchestration("One", async (ctx, input: string) => ctx.scheduleActivity("Work", input));
    };
    const opts = { workerLockTimeoutMs, orchestratorLockTimeoutMs: 300 };
    let granted = false;
    const a = await store.node(setup("A"), opts, (p) => slowA(p, () => (granted = true)));
    const client = await store.client();
    await client.startOrchestration(instance, "One", instance);
    await until(() => granted, 5_000, "runtime A to be granted the lease");
    const b = await store.node(setup("B"), opts);
    const r = await client.waitForOrchestration(instance, 5_000);
    assert.equal(r.status, "Completed", r.error ?? "");
    assert.equal(r.output, `done:${instance}`);
    await sleep(settleMs);
    await a.stop();
    await b.stop();
    return runs;
  } finally {
    await store.close();
  }
}

for (const kind of PROVIDERS) {
  describe(`chaos regressions (${kind})`, () => {
    it("an activity running when its runtime stops with shutdown(0) is not lost: the value it still returns is recorded", { timeout: 20_000 }, async () => {
      const store = new SharedStore(kind);
      try {
        const runs: string[] = [];
        let release: () => void = () => undefined;
        const setup = (first: boolean) => (rt: Runtime) => {
          rt.registerActivity("Work", async (ctx, input: string) => {
            runs.push(`${first ? "A" : "B"}:${input}`);
            // The first runtime's attempt finishes only after its runtime was told to stop.
            if (first) await new Promise<void>((r) => (release = r));
            return `done:${input}`;
          });
          rt.registerOrchestration("One", async (ctx, input: string) => ctx.scheduleActivity("Work", input));
        };
        const opts = { workerLockTimeoutMs: 300, orchestratorLockTimeoutMs: 300 };
        const a = await store.node(setup(true), opts);
        const client = await store.client();
        await client.startOrchestration("i1", "One", "x");
        await until(() => runs.length === 1, 5_000, "the activity to start on runtime A");
        // The attempt ends 30 ms into the shutdown, after the runtime signalled it (an activity that
        // does not watch its signal): its result must not be taken for a withdrawal.
        const stopping = a.runtime.shutdown(0);
        setTimeout(() => release(), 30);
        await stopping;
        const b = await store.node(setup(false), opts);
        const r = await client.waitForOrchestration("i1", 10_000);
        assert.equal(r.status, "Completed", r.error ?? "");
        assert.equal(r.output, "done:x");
        // The value returned after the signal was recorded: nobody ran the activity again.
        assert.deepEqual(runs, ["A:x"]);
        await b.stop();
      } finally {
        await store.close();
      }
    });
    it("an activity that gives up on the shutdown signal is handed back and runs on another runtime, not failed", { timeout: 20_000 }, async () => {
      const store = new SharedStore(kind);
      try {
        const runs: string[] = [];
        const setup = (first: boolean) => (rt: Runtime) => {
          rt.registerActivity("Work", async (ctx, input: string) => {
            runs.push(`${first ? "A" : "B"}:${input}`);
            if (first)
              await new Promise<void>((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("stopping")), { once: true }));
            return `done:${input}`;
          });
          rt.registerOrchestration("One", async (ctx, input: string) => ctx.scheduleActivity("Work", input));
        };
        const opts = { workerLockTimeoutMs: 5_000, orchestratorLockTimeoutMs: 300 };
        const a = await store.node(setup(true), opts);
        const client = await store.client();
        await client.startOrchestration("i2", "One", "y");
        await until(() => runs.length === 1, 5_000, "the activity to start on runtime A");
        await a.runtime.shutdown(0);
        const b = await store.node(setup(false), opts);
        // Handed back at once: no wait for the 5 s lock to lapse, and no ActivityFailed from the shutdown.
        const r = await client.waitForOrchestration("i2", 3_000);
        assert.equal(r.status, "Completed", r.error ?? "");
        assert.equal(r.output, "done:y");
        assert.deepEqual(runs, ["A:y", "B:y"]);
        await b.stop();
      } finally {
        await store.close();
      }
    });
    it("a lease that reaches the worker after its lock lapsed is not run: the activity another runtime completed does not run again", { timeout: 20_000 }, async () => {
      // A gets the lease, but the answer takes 3 lock periods to arrive (a slow network, a GC pause).
      // The item is then run once: by B, or by A's own fetch after the lapse when the late lease came
      // with A's ack (A's fetch loop is then free, as it was not the one kept waiting).
      const runs = await lateLeaseRuns(kind, "i3", 200, (p, granted) => slowFirstLease(p, 600, granted), 800);
      assert.equal(runs.length, 1, `the completed activity ran again on the late lease: ${runs.join(", ")}`);
    });
    it("a late lease whose renewal is answered after the lock could have lapsed is not run (chaos seed 12003)", { timeout: 20_000 }, async () => {
      // A's lease arrives half a lock late, so A renews it before running it; the store renews at
      // once, but the answer takes two lock periods: meanwhile the lock lapses and B runs the activity.
      const runs = await lateLeaseRuns(kind, "i4", 300, (p, granted) => slowFirstLease(slowFirstRenewal(p, 600), 150, granted), 1_000);
      assert.equal(runs.length, 1, `the completed activity ran again after a late renewal: ${runs.join(", ")}`);
    });
  });
}
