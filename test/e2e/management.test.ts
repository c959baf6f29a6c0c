// Management API end to end (Client over a running Runtime), on every provider: queries, trees,
// deletion (refusals, cascades, force while work is in flight), pruning, stats and paging,
// including a large store.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CannotDeleteSubOrchestrationError,
  InstanceNotFoundError,
  InstanceStillRunningError,
  type OrchestrationContext,
  type Provider,
  type Runtime,
} from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { SqliteProvider } from "../../src/providers/sqlite/index.js";
import { harness, PROVIDERS } from "./harness.js";

function register(rt: Runtime, gate: { release?: () => void; started?: () => void } = {}): void {
  rt.registerActivity("Echo", async (_ctx, x: unknown) => x);
  rt.registerActivity("Slow", async (ctx) => {
    gate.started?.();
    await new Promise<void>((resolve) => {
      gate.release = resolve;
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    return "slow-done";
  });
  rt.registerOrchestration("Leaf", async (ctx: OrchestrationContext, x: number) => {
    ctx.setValue("leaf", String(x));
    return await ctx.scheduleActivity("Echo", x);
  });
  rt.registerOrchestration("Parent", async (ctx: OrchestrationContext, n: number) => {
    const kids = [];
    for (let i = 0; i < n; i++) kids.push(ctx.scheduleSubOrchestration<number>("Leaf", i));
    const r = await ctx.all(kids);
    return r.length;
  });
  rt.registerOrchestration("Waiter", async (ctx: OrchestrationContext) => await ctx.waitForEvent("go"));
  rt.registerOrchestration("SlowOrch", async (ctx: OrchestrationContext) => await ctx.scheduleActivity("Slow", null));
  rt.registerOrchestration("Loop", async (ctx: OrchestrationContext, s: { i: number; n: number }) => {
    await ctx.scheduleActivity("Echo", s.i);
    if (s.i >= s.n) return s.i;
    return ctx.continueAsNew({ i: s.i + 1, n: s.n });
  });
}

async function until(cond: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] management API end to end`, () => {
    it("trees, stats, history view, cascading delete and refusals", async () => {
      const h = await harness((rt) => register(rt), {}, kind);
      try {
        const c = h.client;
        assert.equal(c.hasManagementCapability(), true);
        await c.startOrchestration("p1", "Parent", 3);
        assert.equal((await c.waitForOrchestration("p1", 10_000)).output, 3);
        const tree = await c.getInstanceTree("p1");
        assert.equal(tree.rootId, "p1");
        assert.equal(tree.size, 4);
        assert.equal(tree.allIds.length, 4);
        const child = tree.allIds[1]!;
        assert.equal((await c.getInstanceInfo(child)).parentInstanceId, "p1");

        const st = await c.getOrchestrationStats(child);
        assert.ok(st);
        assert.equal(st.kvUserKeyCount, 1);
        assert.equal(st.kvTotalValueBytes, 1);
        assert.equal(st.queuePendingCount, 0);
        const hist = await c.readExecutionHistory(child, 1);
        assert.equal(st.historyEventCount, hist.length);
        assert.deepEqual(
          hist.map((e) => e.kind),
          ["OrchestrationStarted", "KeyValueSet", "ActivityScheduled", "ActivityCompleted", "OrchestrationCompleted"],
        );
        assert.equal(typeof hist[0]!.timestampMs, "number");
        assert.equal(hist[3]!.sourceEventId, 3);
        assert.equal(await c.getOrchestrationStats("nope"), null);

        await assert.rejects(c.deleteInstance(child), CannotDeleteSubOrchestrationError);
        await assert.rejects(c.deleteInstance("nope"), InstanceNotFoundError);
        await assert.rejects(c.getInstanceTree("nope"), InstanceNotFoundError);

        await c.startOrchestration("w1", "Waiter");
        await until(async () => (await c.getStatus("w1")).status === "Running");
        await assert.rejects(c.deleteInstance("w1"), InstanceStillRunningError);
        assert.equal((await c.deleteInstanceBulk()).instancesDeleted, 4, "bulk takes p1's tree, skips running w1");
        assert.equal((await c.getStatus("p1")).status, "NotFound");
        for (const id of tree.allIds) assert.equal((await c.getStatus(id)).status, "NotFound");
        assert.deepEqual(await c.listAllInstances(), ["w1"]);

        // A deleted id is free again.
        await c.startOrchestration("p1", "Leaf", 7);
        assert.equal((await c.waitForOrchestration("p1", 5_000)).output, 7);
      } finally {
        await h.close();
      }
    });

    it("force-deleting an instance while its activity runs: the late result recreates nothing", async () => {
      let startedResolve!: () => void;
      const started = new Promise<void>((r) => (startedResolve = r));
      const gate: { release?: () => void; started?: () => void } = { started: () => startedResolve() };
      const h = await harness((rt) => register(rt, gate), {}, kind);
      try {
        const c = h.client;
        await c.startOrchestration("s1", "SlowOrch");
        await started;
        await assert.rejects(c.deleteInstance("s1", false), InstanceStillRunningError);
        const r = await c.deleteInstance("s1", true);
        assert.equal(r.instancesDeleted, 1);
        assert.equal(r.queueMessagesDeleted, 1, "the locked activity row");
        gate.release?.();
        await new Promise((res) => setTimeout(res, 300));
        assert.equal((await c.getStatus("s1")).status, "NotFound");
        assert.deepEqual(await c.listAllInstances(), []);
        // The runtime keeps working.
        await c.startOrchestration("after", "Leaf", 1);
        assert.equal((await c.waitForOrchestration("after", 5_000)).status, "Completed");
      } finally {
        await h.close();
      }
    });

    it("continue-as-new chains: prune keeps the current execution; bulk prune aggregates", async () => {
      const h = await harness((rt) => register(rt), {}, kind);
      try {
        const c = h.client;
        await c.startOrchestration("l1", "Loop", { i: 1, n: 5 });
        await c.startOrchestration("l2", "Loop", { i: 1, n: 3 });
        assert.equal((await c.waitForOrchestration("l1", 10_000)).output, 5);
        assert.equal((await c.waitForOrchestration("l2", 10_000)).output, 3);
        assert.deepEqual(await c.listExecutions("l1"), [1, 2, 3, 4, 5]);
        const events4 = (await c.readExecutionHistory("l1", 4)).length;
        const events3 = (await c.readExecutionHistory("l1", 3)).length;
        const r = await c.pruneExecutions("l1", { keepLast: 3 });
        assert.deepEqual(r, { instancesProcessed: 1, executionsDeleted: 2, eventsDeleted: 2 * events3 });
        assert.deepEqual(await c.listExecutions("l1"), [3, 4, 5]);
        assert.equal(events4, events3);
        const b = await c.pruneExecutionsBulk({}, {});
        assert.equal(b.instancesProcessed, 2);
        assert.equal(b.executionsDeleted, 4);
        assert.deepEqual(await c.listExecutions("l1"), [5]);
        assert.deepEqual(await c.listExecutions("l2"), [3]);
        assert.equal((await c.getStatus("l1")).status, "Completed");
        await assert.rejects(c.pruneExecutions("ghost"), InstanceNotFoundError);
      } finally {
        await h.close();
      }
    });

    it("listInstances pages with filters", async () => {
      const h = await harness((rt) => register(rt), {}, kind);
      try {
        const c = h.client;
        for (let i = 0; i < 5; i++) await c.startOrchestration(`leaf-${i}`, "Leaf", i);
        for (let i = 0; i < 5; i++) await c.waitForOrchestration(`leaf-${i}`, 5_000);
        await c.startOrchestration("wait", "Waiter");
        await until(async () => (await c.getStatus("wait")).status === "Running");
        const all: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<typeof c.listInstances>> = await c.listInstances({ limit: 2, cursor });
          all.push(...page.instanceIds);
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual([...all].sort(), ["leaf-0", "leaf-1", "leaf-2", "leaf-3", "leaf-4", "wait"]);
        assert.deepEqual((await c.listInstances({ status: "Running" })).instanceIds, ["wait"]);
        assert.equal((await c.listInstances({ orchestrationName: "Leaf", status: "Completed" })).items.length, 5);
      } finally {
        await h.close();
      }
    });

    it("large store: 20k instances; every page answers fast", async () => {
      const h = await harness(() => undefined, {}, kind);
      try {
        const N = 20_000;
        await bulkInsert(h.provider, N);
        const c = h.client;
        const times: Record<string, number> = {};
        async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
          const t0 = performance.now();
          const r = await f();
          times[label] = Math.round((performance.now() - t0) * 10) / 10;
          return r;
        }
        await c.listInstances({ limit: 1 }); // warm up statement caches
        const first = await timed("first page (100)", () => c.listInstances({ limit: 100 }));
        assert.equal(first.items.length, 100);
        assert.equal(first.instanceIds[0], `big-${String(N - 1).padStart(6, "0")}`);
        // Walk 50 pages deep with the cursor.
        let cursor = first.nextCursor;
        let maxPage = 0;
        let seen = 100;
        for (let i = 0; i < 50 && cursor; i++) {
          const t0 = performance.now();
          const page = await c.listInstances({ limit: 100, cursor });
          maxPage = Math.max(maxPage, performance.now() - t0);
          seen += page.items.length;
          cursor = page.nextCursor;
        }
        times["slowest of 50 cursor pages"] = Math.round(maxPage * 10) / 10;
        assert.equal(seen, 5_100);
        const failed = await timed("status=Failed (rare, 1 in 100)", () => c.listInstances({ status: "Failed", limit: 100 }));
        assert.equal(failed.items.length, 100);
        assert.ok(failed.items.every((i) => i.status === "Failed"));
        const named = await timed("name+status", () => c.listInstances({ orchestrationName: "Odd", status: "Running", limit: 100 }));
        assert.ok(named.items.every((i) => i.orchestrationName === "Odd" && i.status === "Running"));
        const window = await timed("created window", () =>
          c.listInstances({ createdAfter: 1_000_000 + 5_000, createdBefore: 1_000_000 + 5_050, limit: 1000 }),
        );
        assert.equal(window.items.length, 50);
        const last = await timed("oldest 1000 (createdBefore, limit 1000)", async () => {
          const lastPage = await c.listInstances({ limit: 1000, createdBefore: 1_000_000 + 1_000 });
          return lastPage;
        });
        assert.equal(last.items.length, 1000);
        assert.equal(last.nextCursor, null);
        const stats = await timed("getSystemMetrics", () => c.getSystemMetrics());
        assert.equal(stats.totalInstances, N);
        process.stderr.write(`[${kind}] large store (${N} instances) listing times (ms): ${JSON.stringify(times)}\n`);
        for (const [label, ms] of Object.entries(times)) if (label !== "getSystemMetrics") assert.ok(ms < 200, `${label}: ${ms} ms`);
      } finally {
        await h.close();
      }
    });
  });
}

/**
 * Fast bulk path for the large-store test: rows written straight into the provider's tables (what
 * N acks would leave behind). created_at = 1_000_000 + i; every 100th Failed, every 3rd Completed.
 */
async function bulkInsert(p: Provider, n: number): Promise<void> {
  const statusOf = (i: number): string => (i % 100 === 0 ? "Failed" : i % 3 === 0 ? "Completed" : "Running");
  if (p instanceof SqliteProvider) {
    const db = p.unsafeRawDatabase();
    const ins = db.prepare(
      `INSERT INTO instances (instance_id, orchestration_name, orchestration_version, current_execution_id, created_at, updated_at, status)
       VALUES (?, ?, '1.0.0', 1, ?, ?, ?)`,
    );
    const exe = db.prepare("INSERT INTO executions (instance_id, execution_id, status, started_at, completed_at) VALUES (?, 1, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const id = `big-${String(i).padStart(6, "0")}`;
        const s = statusOf(i);
        ins.run(id, i % 2 ? "Odd" : "Even", 1_000_000 + i, 1_000_000 + i, s);
        exe.run(id, s, 1_000_000 + i, s === "Running" ? null : 1_000_000 + i);
      }
    })();
    db.exec("ANALYZE");
    return;
  }
  if (p instanceof PostgresProvider) {
    const s = `"${p.schema}"`;
    const status = `CASE WHEN g % 100 = 0 THEN 'Failed' WHEN g % 3 = 0 THEN 'Completed' ELSE 'Running' END`;
    const pool = p.unsafeRawPool();
    await pool.query(
      `INSERT INTO ${s}.instances (instance_id, orchestration_name, orchestration_version, current_execution_id, created_at, updated_at, status)
       SELECT 'big-' || lpad(g::text, 6, '0'), CASE WHEN g % 2 = 1 THEN 'Odd' ELSE 'Even' END, '1.0.0', 1, 1000000 + g, 1000000 + g, ${status}
       FROM generate_series(0, $1 - 1) g`,
      [n],
    );
    await pool.query(
      `INSERT INTO ${s}.executions (instance_id, execution_id, status, started_at, completed_at)
       SELECT 'big-' || lpad(g::text, 6, '0'), 1, ${status}, 1000000 + g, 1000000 + g FROM generate_series(0, $1 - 1) g`,
      [n],
    );
    await pool.query(`ANALYZE ${s}.instances`);
    await pool.query(`ANALYZE ${s}.executions`);
    return;
  }
  throw new Error("unknown provider");
}
