// The dispatchers fetch several ready items per call when the store can (fetchOrchestrationItems,
// fetchWorkItems): with work queued and slots free, one call fills the free slots. The store is
// wrapped to count what each batch call returns; it also declines ack leases and worker-ack
// hand-overs (both allowed by the contract), so activities and turns go through the fetches.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { Client, Runtime, type OrchestrationContext, type Provider } from "../../src/index.js";
import { openStore, PROVIDERS } from "./harness.js";

interface Counts {
  /** Items returned by each batch call that returned any. */
  orchBatches: number[];
  workBatches: number[];
  singleFetches: number;
}

function counting(inner: Provider, counts: Counts): Provider {
  return new Proxy(inner, {
    get(target, key) {
      if (key === "fetchOrchestrationItems")
        return async (...args: Parameters<NonNullable<Provider["fetchOrchestrationItems"]>>) => {
          const items = await target.fetchOrchestrationItems!(...args);
          assert.ok(items.length <= args[0], "never more than asked");
          if (items.length > 0) counts.orchBatches.push(items.length);
          return items;
        };
      if (key === "fetchWorkItems")
        return async (...args: Parameters<NonNullable<Provider["fetchWorkItems"]>>) => {
          const leases = await target.fetchWorkItems!(...args);
          assert.ok(leases.length <= args[0], "never more than asked");
          if (leases.length > 0) counts.workBatches.push(leases.length);
          return leases;
        };
      if (key === "fetchOrchestrationItem" || key === "fetchWorkItem")
        return async (...args: unknown[]) => {
          const r = await (target[key] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (r !== null) counts.singleFetches++;
          return r;
        };
      if (key === "ackOrchestrationItem")
        return (token: string, ack: Parameters<Provider["ackOrchestrationItem"]>[1]) => {
          const { leaseWorkerItems: _declined, ...rest } = ack;
          return target.ackOrchestrationItem(token, rest);
        };
      if (key === "ackWorkItem")
        return (token: string, completion: Parameters<Provider["ackWorkItem"]>[1]) => target.ackWorkItem(token, completion);
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] batch fetch`, () => {
    it("queued instances and activities are fetched several per call, and all complete", async () => {
      const store = await openStore(kind);
      const inner = await store.open();
      const counts: Counts = { orchBatches: [], workBatches: [], singleFetches: 0 };
      const provider = counting(inner, counts);
      const runtime = new Runtime(provider, {
        dispatcherPollIntervalMs: 20,
        logLevel: "error",
        orchestrationConcurrency: 8,
        workerConcurrency: 8,
      });
      const calls = new Map<string, number>();
      runtime.registerActivity("Square", async (_ctx, x: number) => {
        calls.set(`${x}`, (calls.get(`${x}`) ?? 0) + 1);
        return x * x;
      });
      runtime.registerOrchestration("SumOfSquares", async (ctx: OrchestrationContext, base: number) => {
        const parts = await ctx.all(Array.from({ length: 6 }, (_, i) => ctx.scheduleActivity<number>("Square", base + i)));
        return parts.reduce((a, b) => a + (b.ok ?? 0), 0);
      });
      const client = new Client(provider);
      try {
        // Queued before the runtime starts: its first fetch finds them all ready.
        const n = 20;
        for (let i = 0; i < n; i++) await client.startOrchestration(`sq-${i}`, "SumOfSquares", i * 100);
        await runtime.start();
        for (let i = 0; i < n; i++) {
          const r = await client.waitForOrchestration(`sq-${i}`, 20_000);
          const base = i * 100;
          const want = Array.from({ length: 6 }, (_, k) => (base + k) ** 2).reduce((a, b) => a + b, 0);
          assert.deepEqual({ status: r.status, output: r.output }, { status: "Completed", output: want }, `sq-${i}`);
        }
        // Every activity ran exactly once.
        assert.equal(calls.size, n * 6);
        for (const [k, c] of calls) assert.equal(c, 1, `activity ${k} ran ${c} times`);
        // The batch path was used: some call brought several instances, some several activities.
        assert.ok(Math.max(0, ...counts.orchBatches) > 1, `orchestrator batches: ${JSON.stringify(counts.orchBatches)}`);
        assert.ok(Math.max(0, ...counts.workBatches) > 1, `worker batches: ${JSON.stringify(counts.workBatches)}`);
        assert.ok(Math.max(...counts.orchBatches, ...counts.workBatches) <= 8, "never more than the free slots");
      } finally {
        await runtime.shutdown(200);
        await inner.close();
        await store.destroy();
      }
    });
  });
}
