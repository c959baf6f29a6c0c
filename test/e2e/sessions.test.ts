import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext, Runtime } from "../../src/index.js";
import { SharedStore, sleep, until } from "./multi.js";
import { PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

interface Run {
  session: string | null;
  worker: string;
}

describe(`[${kind}] sessions`, () => {
  it("every activity of a session runs on the worker that owns it (two runtimes, one store)", async () => {
    const store = new SharedStore(kind);
    const runs: Run[] = [];
    try {
      const setup = (rt: Runtime) => {
        rt.registerActivity("Work", async (ctx, i: number) => {
          runs.push({ session: ctx.sessionId, worker: ctx.workerId });
          await sleep(20);
          return i;
        });
        rt.registerOrchestration("Fan", async (ctx: OrchestrationContext) => {
          let total = 0;
          for (let round = 0; round < 3; round++) {
            const tasks = [];
            for (let s = 0; s < 4; s++)
              for (let k = 0; k < 2; k++) tasks.push(ctx.scheduleActivityOnSession<number>("Work", s * 10 + k, `sess-${s}`));
            tasks.push(ctx.scheduleActivity<number>("Work", 100)); // no session: any worker
            total += (await ctx.join(tasks)).reduce((a, b) => a + b, 0);
          }
          return total;
        });
      };
      await store.node(setup, { workerNodeId: "node-a", workerConcurrency: 4 });
      await store.node(setup, { workerNodeId: "node-b", workerConcurrency: 4 });
      const client = await store.client();
      await client.startOrchestration("fan", "Fan");
      const r = await client.waitForOrchestration("fan", 10_000);
      assert.equal(r.status, "Completed");
      const bySession = new Map<string, Set<string>>();
      for (const x of runs) {
        if (x.session === null) continue;
        if (!bySession.has(x.session)) bySession.set(x.session, new Set());
        bySession.get(x.session)!.add(x.worker);
      }
      assert.equal(bySession.size, 4);
      for (const [s, workers] of bySession) assert.equal(workers.size, 1, `${s} ran on ${[...workers].join(", ")}`);
      for (const workers of bySession.values()) assert.match([...workers][0]!, /^work-node-[ab]$/);
      assert.equal(runs.filter((x) => x.session === null).length, 3);
    } finally {
      await store.close();
    }
  });

  it("maxSessionsPerRuntime bounds the distinct sessions running at once; other work still flows", async () => {
    const store = new SharedStore(kind);
    const running = new Map<string, number>();
    let maxDistinct = 0;
    let plainDone = 0;
    try {
      await store.node(
        (rt) => {
          rt.registerActivity("Hold", async (ctx) => {
            const s = ctx.sessionId;
            if (s === null) {
              plainDone++;
              return null;
            }
            running.set(s, (running.get(s) ?? 0) + 1);
            maxDistinct = Math.max(maxDistinct, running.size);
            await sleep(40);
            const n = running.get(s)! - 1;
            if (n === 0) running.delete(s);
            else running.set(s, n);
            return s;
          });
          rt.registerOrchestration("Many", async (ctx: OrchestrationContext) => {
            const tasks = [];
            for (let s = 0; s < 5; s++) for (let k = 0; k < 2; k++) tasks.push(ctx.scheduleActivityOnSession("Hold", k, `s${s}`));
            for (let k = 0; k < 3; k++) tasks.push(ctx.scheduleActivity("Hold", k));
            return (await ctx.join(tasks)).length;
          });
        },
        { maxSessionsPerRuntime: 2, workerConcurrency: 8, workerNodeId: "solo" },
      );
      const client = await store.client();
      await client.startOrchestration("many", "Many");
      assert.equal((await client.waitForOrchestration("many", 10_000)).output, 13);
      assert.ok(maxDistinct <= 2, `at most 2 sessions at once, saw ${maxDistinct}`);
      assert.equal(maxDistinct, 2, "the capacity is used");
      assert.equal(plainDone, 3);
    } finally {
      await store.close();
    }
  });

  const whereSetup = (extra?: (rt: Runtime) => void) => (rt: Runtime) => {
    rt.registerActivity("Where", async (ctx) => ({ worker: ctx.workerId, session: ctx.sessionId }));
    rt.registerActivity("Block", async () => {
      await sleep(1_500);
      return null;
    });
    rt.registerOrchestration("Pinned", async (ctx: OrchestrationContext, mode: string) => {
      const first = await ctx.scheduleActivityOnSession("Where", 1, "S");
      ctx.setCustomStatus("first done");
      await ctx.waitForEvent("next");
      let block = null;
      if (mode === "idle") block = ctx.scheduleActivity("Block").withTag("blocker"); // keeps node A's only slot busy
      const second = await ctx.scheduleActivityOnSession("Where", 2, "S");
      if (block) await block;
      return { first, second };
    });
    extra?.(rt);
  };

  it("an idle session is released (sessionIdleTimeoutMs) and claimed by another worker", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(whereSetup(), {
        workerNodeId: "A",
        workerConcurrency: 1,
        sessionIdleTimeoutMs: 100,
        sessionLockTimeoutMs: 300,
        workerTagFilter: { defaultAnd: ["blocker"] },
      });
      await client.startOrchestration("idle", "Pinned", "idle");
      await client.waitForStatusChange("idle", 0, 10, 5_000);
      await store.node(whereSetup(), { workerNodeId: "B", sessionLockTimeoutMs: 300 });
      await client.raiseEvent("idle", "next");
      const r = await client.waitForOrchestration("idle", 10_000);
      assert.deepEqual(r.output, { first: { worker: "work-A", session: "S" }, second: { worker: "work-B", session: "S" } });
    } finally {
      await store.close();
    }
  });

  it("a session is re-claimed by another runtime after its owner dies (lock expiry)", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      const a = await store.node(whereSetup(), { workerNodeId: "A", sessionLockTimeoutMs: 400 });
      await client.startOrchestration("dies", "Pinned", "dies");
      await client.waitForStatusChange("dies", 0, 10, 5_000);
      await a.stop(); // no more renewals
      const t0 = Date.now();
      await store.node(whereSetup(), { workerNodeId: "B", sessionLockTimeoutMs: 400 });
      await client.raiseEvent("dies", "next");
      const r = await client.waitForOrchestration("dies", 10_000);
      assert.deepEqual(r.output, { first: { worker: "work-A", session: "S" }, second: { worker: "work-B", session: "S" } });
      assert.ok(Date.now() - t0 < 3_000);
    } finally {
      await store.close();
    }
  });

  it("while its owner is alive, the session stays with it even when another worker is idle", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      await store.node(whereSetup(), { workerNodeId: "A", sessionLockTimeoutMs: 300 });
      await client.startOrchestration("stay", "Pinned", "stay");
      await client.waitForStatusChange("stay", 0, 10, 5_000);
      await store.node(whereSetup(), { workerNodeId: "B", sessionLockTimeoutMs: 300 });
      await sleep(700); // longer than the lock timeout: renewals keep it
      await client.raiseEvent("stay", "next");
      const r = await client.waitForOrchestration("stay", 10_000);
      assert.deepEqual(r.output, { first: { worker: "work-A", session: "S" }, second: { worker: "work-A", session: "S" } });
    } finally {
      await store.close();
    }
  });
});

void until;

}
