// Start turns (Provider.createInstanceWithTurn): a start made by a Client on the same provider
// object as a started Runtime runs the instance's first turn in that runtime and stores it with
// the creation. Orchestrations must end exactly as without it (same results, same histories), the
// path must be taken on both stores, and every fallback must be today's behaviour: no local
// runtime, an orchestration not registered here, an id already taken (ignore and fail modes).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client, InstanceAlreadyExistsError, Runtime, type HistoryEvent, type OrchestrationContext, type Provider } from "../../src/index.js";
import { harness, PROVIDERS, type ProviderKind } from "./harness.js";

interface Counts {
  applied: number;
  notApplied: number;
  creates: number;
}

const zero = (): Counts => ({ applied: 0, notApplied: 0, creates: 0 });

/**
 * The provider seen through a wrapper that counts starts and acks; without `withTurns` it hides
 * createInstanceWithTurn. `before` runs before each createInstanceWithTurn reaches the store.
 */
function counting(counts: Counts, withTurns: boolean, before?: () => Promise<void>): (p: Provider) => Provider {
  return (inner) =>
    new Proxy(inner, {
      get(target, key) {
        if (key === "createInstanceWithTurn") {
          if (!withTurns || target.createInstanceWithTurn === undefined) return undefined;
          return async (...args: Parameters<NonNullable<Provider["createInstanceWithTurn"]>>) => {
            await before?.();
            const r = await target.createInstanceWithTurn!(...args);
            if (r.applied) counts.applied++;
            else counts.notApplied++;
            return r;
          };
        }
        if (key === "createInstance") {
          return (...args: Parameters<Provider["createInstance"]>) => {
            counts.creates++;
            return target.createInstance(...args);
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
}

function register(rt: Runtime): void {
  rt.registerActivity("Hello", async (_ctx, name: string) => `Hello, ${name}!`);
  rt.registerActivity("Square", async (_ctx, x: number) => x * x);
  rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => {
    ctx.setValue("greeted", name);
    ctx.setCustomStatus("greeting");
    return ctx.scheduleActivity<string>("Hello", name);
  });
  rt.registerOrchestration("Fanout", async (ctx: OrchestrationContext, n: number) => {
    const squares = await ctx.join(Array.from({ length: n }, (_, i) => ctx.scheduleActivity<number>("Square", i)));
    return squares.reduce((a, b) => a + b, 0);
  });
  rt.registerOrchestration("Timers", async (ctx: OrchestrationContext, ms: number) => {
    await ctx.scheduleTimer(ms);
    const a = await ctx.scheduleActivity<number>("Square", 3);
    await ctx.scheduleTimer(ms);
    return a;
  });
  rt.registerOrchestration("Instant", async (_ctx: OrchestrationContext, x: number) => x + 1);
  rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => ctx.waitForEvent<string>("go"));
}

/** History without its times: what must not differ between the two paths. */
function timeless(events: HistoryEvent[]): unknown[] {
  return events.map((e) => JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === "timestampMs" || k === "lastUpdatedAtMs" || k === "fireAtMs" ? undefined : v))) as unknown);
}

const WORKLOAD: [string, string, unknown, unknown][] = [
  ["h1", "Hello", "Ada", "Hello, Ada!"],
  ["h2", "Hello", "Bob", "Hello, Bob!"],
  ["f1", "Fanout", 12, 506],
  ["t1", "Timers", 30, 9],
  ["i1", "Instant", 41, 42],
];

async function runWorkload(kind: ProviderKind, counts: Counts, withTurns: boolean) {
  const h = await harness(register, {}, kind, counting(counts, withTurns));
  try {
    await Promise.all(WORKLOAD.map(([id, name, input]) => h.client.startOrchestration(id, name, input)));
    const histories = new Map<string, unknown[]>();
    for (const [id, , , output] of WORKLOAD) {
      const s = await h.client.waitForOrchestration(id, 20_000);
      assert.equal(s.status, "Completed", `${id}: ${s.error ?? ""}`);
      assert.deepEqual(s.output, output);
      histories.set(id, timeless(await h.provider.read(id)));
    }
    assert.equal(await h.client.getValue("h1", "greeted"), "Ada");
    assert.equal((await h.client.getStatus("h2")).customStatus, "greeting");
    return histories;
  } finally {
    await h.close();
  }
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] start turns`, () => {
    it("hello, fanout, timers and an instant orchestration: same results and histories with start turns on and hidden; the path is taken", async () => {
      const on = zero();
      const off = zero();
      const withTurns = await runWorkload(kind, on, true);
      const without = await runWorkload(kind, off, false);
      assert.deepEqual(withTurns, without);
      // Every start ran its first turn here and stored it with the creation: nothing was queued
      // and no first turn was fetched and acked.
      assert.equal(on.applied, WORKLOAD.length);
      assert.equal(on.notApplied, 0);
      assert.equal(on.creates, 0);
      assert.equal(off.applied, 0);
      assert.equal(off.creates, WORKLOAD.length);
    });

    it("a taken id: ignored or InstanceAlreadyExistsError as before, the running instance untouched", async () => {
      const counts = zero();
      const h = await harness(register, {}, kind, counting(counts, true));
      try {
        await h.client.startOrchestration("w", "Waits");
        assert.equal(counts.applied, 1);
        const before = await h.provider.read("w");
        await h.client.startOrchestration("w", "Waits");
        await h.client.startOrchestration("w", "Hello", "x");
        await assert.rejects(h.client.startOrchestration("w", "Waits", null, { ifExists: "fail" }), InstanceAlreadyExistsError);
        assert.deepEqual(await h.provider.read("w"), before);
        await h.client.raiseEvent("w", "go", "now");
        const s = await h.client.waitForOrchestration("w", 10_000);
        assert.equal(s.output, "now");
        assert.equal(counts.creates + counts.applied + counts.notApplied, 4, "one store call per start");
        // A start whose id is queued (made by a client of another provider object) is refused too.
        const other = await h.openProvider();
        await new Client(other).startOrchestration("q", "Waits");
        await assert.rejects(h.client.startOrchestration("q", "Waits", null, { ifExists: "fail" }), InstanceAlreadyExistsError);
        await h.client.raiseEvent("q", "go", "later");
        assert.equal((await h.client.waitForOrchestration("q", 10_000)).output, "later");
      } finally {
        await h.close();
      }
    });

    it("a client on another provider object, an orchestration not registered here, a stopped runtime: started as before", async () => {
      const counts = zero();
      const h = await harness(register, {}, kind, counting(counts, true));
      try {
        // Another provider object on the same store: no runtime of this process runs on it.
        const other = await h.openProvider();
        await new Client(other).startOrchestration("o", "Hello", "Other");
        assert.equal((await h.client.waitForOrchestration("o", 10_000)).output, "Hello, Other!");
        assert.equal(counts.applied, 0);
        // Not registered here: queued for a runtime that has it (here: none, so it waits).
        await h.client.startOrchestration("u", "Unknown", null);
        assert.equal(counts.applied, 0);
        assert.equal(counts.creates, 1);
        // A runtime that was shut down no longer takes starts.
        await h.runtime.shutdown(200);
        await h.client.startOrchestration("s", "Hello", "Stopped");
        assert.equal(counts.applied, 0);
        assert.equal(counts.creates, 2);
        const rt2 = new Runtime(h.provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
        register(rt2);
        await rt2.start();
        try {
          assert.equal((await h.client.waitForOrchestration("s", 10_000)).output, "Hello, Stopped!");
          await h.client.startOrchestration("n", "Hello", "New");
          assert.equal(counts.applied, 1, "the new runtime takes starts");
          assert.equal((await h.client.waitForOrchestration("n", 10_000)).output, "Hello, New!");
        } finally {
          await rt2.shutdown(200);
        }
      } finally {
        await h.close();
      }
    });

    it("no free turn slot: the start is queued as before", async () => {
      const counts = zero();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // The first start holds the only turn slot while its write waits at the gate.
      const h = await harness(register, { orchestrationConcurrency: 1 }, kind, counting(counts, true, () => gate));
      try {
        const first = h.client.startOrchestration("first", "Hello", "First");
        await new Promise((r) => setTimeout(r, 50));
        await h.client.startOrchestration("second", "Hello", "Queued");
        assert.equal(counts.creates, 1);
        release();
        await first;
        assert.equal(counts.applied, 1);
        assert.equal((await h.client.waitForOrchestration("second", 10_000)).output, "Hello, Queued!");
        assert.equal((await h.client.waitForOrchestration("first", 10_000)).output, "Hello, First!");
      } finally {
        await h.close();
      }
    });
  });
}
