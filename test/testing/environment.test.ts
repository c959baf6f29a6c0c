// TestEnvironment: time skipping on a virtual clock (no global patching), explicit sleep, real-time
// client timeouts, and real time for activities.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, TimeoutError, withPayloadCodec, type OrchestrationContext, type Provider } from "../../src/index.js";
import { aesGcmCodec } from "../../examples/encrypted-store.js";
import { TestEnvironment } from "../../src/testing/index.js";

const DAY = 24 * 3600_000;

describe("TestEnvironment time skipping", () => {
  it("a workflow with a 2-day timer completes in well under a second of real time; history and utcNow follow the virtual clock; activities see real time", async () => {
    const env = await TestEnvironment.create();
    env.runtime.registerActivity("RealNow", async () => Date.now());
    env.runtime.registerOrchestration("Shipment", async (ctx: OrchestrationContext) => {
      const before = await ctx.utcNow();
      await ctx.scheduleTimer(2 * DAY);
      const after = await ctx.utcNow();
      const activityNow = await ctx.scheduleActivity<number>("RealNow");
      return { before, after, activityNow };
    });
    await env.start();
    try {
      const t0 = Date.now();
      const v0 = env.now();
      await env.client.startOrchestration("ship-1", "Shipment");
      const r = await env.client.waitForOrchestration("ship-1", 10_000);
      const real = Date.now() - t0;
      assert.equal(r.status, "Completed", r.error);
      assert.ok(real < 1_000, `took ${real} ms of real time`);
      const out = r.output as { before: number; after: number; activityNow: number };
      assert.ok(out.after - out.before >= 2 * DAY, `utcNow moved ${out.after - out.before} ms`);
      assert.ok(env.now() - v0 >= 2 * DAY);
      // The activity ran on real time: about when the test started, two days before the virtual now.
      assert.ok(Math.abs(out.activityNow - t0) < 5_000, "activity saw real time");
      const history = await env.client.readHistory("ship-1");
      const fired = history.find((e) => e.type === "TimerFired")!;
      const created = history.find((e) => e.type === "TimerCreated")!;
      assert.ok(fired.timestampMs - created.timestampMs >= 2 * DAY, "history timestamps follow the virtual clock");
      assert.ok(Math.abs(Date.now() - t0) < 5_000, "the process clock is untouched");
    } finally {
      await env.close();
    }
  });

  it("a PostgreSQL URL is refused with a clear error (no clock seam there)", async () => {
    for (const url of ["postgres://postgres@127.0.0.1:5432/test", "postgresql://x/y"])
      await assert.rejects(TestEnvironment.create({ store: url }), (e: unknown) => e instanceof InvalidArgumentError && /SQLite only/.test(e.message));
  });

  it("retries with exponential backoff and an attempt timeout skip too", async () => {
    const env = await TestEnvironment.create({ store: "file" });
    let calls = 0;
    env.runtime.registerActivity("Flaky", async () => {
      calls++;
      if (calls < 5) throw new Error(`fail ${calls}`);
      return "ok";
    });
    env.runtime.registerActivity("Hangs", async (ctx) => {
      // Real time: far longer than the test may take. Ends when the runtime cancels it.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 60_000);
        t.unref();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return "late";
    });
    env.runtime.registerOrchestration("Retry", async (ctx: OrchestrationContext) =>
      ctx.scheduleActivityWithRetry("Flaky", null, {
        maxAttempts: 6,
        backoff: { kind: "exponential", baseMs: 60_000, multiplier: 2, maxMs: 3_600_000 },
      }),
    );
    env.runtime.registerOrchestration("Timeout", async (ctx: OrchestrationContext) => {
      try {
        return await ctx.scheduleActivityWithRetry("Hangs", null, { maxAttempts: 1, timeoutMs: 3_600_000 });
      } catch (e) {
        return `caught: ${(e as Error).message}`;
      }
    });
    await env.start();
    try {
      const t0 = Date.now();
      const v0 = env.now();
      await env.client.startOrchestration("retry-1", "Retry");
      const r = await env.client.waitForOrchestration("retry-1", 10_000);
      assert.equal(r.status, "Completed", r.error);
      assert.equal(r.output, "ok");
      assert.equal(calls, 5);
      // 1 + 2 + 4 + 8 minutes of backoff, skipped.
      assert.ok(env.now() - v0 >= 15 * 60_000, `virtual time moved ${env.now() - v0} ms`);
      assert.ok(Date.now() - t0 < 1_000, `retry took ${Date.now() - t0} ms of real time`);

      const t1 = Date.now();
      await env.client.startOrchestration("timeout-1", "Timeout");
      const t = await env.client.waitForOrchestration("timeout-1", 10_000);
      assert.equal(t.status, "Completed", t.error);
      assert.match(String(t.output), /caught: .*timed out/);
      assert.ok(Date.now() - t1 < 2_000, `attempt timeout took ${Date.now() - t1} ms of real time`);
    } finally {
      await env.close();
    }
  });

  it("time skips only while the test waits: an event raised first beats a 2-day timeout", async () => {
    const env = await TestEnvironment.create();
    env.runtime.registerOrchestration("Approval", async (ctx: OrchestrationContext) => {
      const r = await ctx.race(ctx.waitForEvent("approve"), ctx.scheduleTimer(2 * DAY));
      return r.index === 0 ? "approved" : "timed out";
    });
    await env.start();
    try {
      await env.client.startOrchestration("a-1", "Approval");
      for (let i = 0; i < 200 && (await env.client.readHistory("a-1")).length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50)); // idle with a timer pending, nobody waiting: no skip
      await env.client.raiseEvent("a-1", "approve");
      assert.equal((await env.client.waitForOrchestration("a-1", 5_000)).output, "approved");

      await env.client.startOrchestration("a-2", "Approval");
      assert.equal((await env.client.waitForOrchestration("a-2", 5_000)).output, "timed out");
    } finally {
      await env.close();
    }
  });

  it("without time skipping, env.sleep advances the clock explicitly; client timeouts count real time", async () => {
    const env = await TestEnvironment.create({ timeSkipping: false, startTimeMs: Date.UTC(2030, 0, 1) });
    env.runtime.registerOrchestration("Hour", async (ctx: OrchestrationContext) => {
      await ctx.scheduleTimer(3600_000);
      return ctx.utcNow();
    });
    env.runtime.registerOrchestration("Forever", async (ctx: OrchestrationContext) => ctx.waitForEvent("never"));
    await env.start();
    try {
      assert.ok(Math.abs(env.now() - Date.UTC(2030, 0, 1)) < 5_000);
      await env.client.startOrchestration("h-1", "Hour");
      await assert.rejects(env.client.waitForOrchestration("h-1", 150), TimeoutError);
      assert.equal((await env.client.getStatus("h-1")).status, "Running");
      await env.sleep(3600_000);
      const r = await env.client.waitForOrchestration("h-1", 2_000);
      assert.equal(r.status, "Completed");
      assert.ok((r.output as number) >= Date.UTC(2030, 0, 1) + 3600_000);

      await env.client.startOrchestration("f-1", "Forever");
      const t0 = Date.now();
      await assert.rejects(env.client.waitForOrchestration("f-1", 200), TimeoutError);
      const took = Date.now() - t0;
      assert.ok(took >= 190 && took < 2_000, `timeout took ${took} ms`);
    } finally {
      await env.close();
    }
  });

  it("with a codec-wrapped store (wrapStore), time skips through the wrapper and payloads are stored encoded", async () => {
    const env = await TestEnvironment.create({ store: "file", wrapStore: (s) => withPayloadCodec(s, aesGcmCodec(randomBytes(32))) });
    env.runtime.registerActivity("Echo", async (_c, v: string) => `echo ${v}`);
    env.runtime.registerOrchestration("Later", async (ctx: OrchestrationContext, v: string) => {
      await ctx.scheduleTimer(3 * DAY);
      return ctx.scheduleActivity<string>("Echo", v);
    });
    await env.start();
    try {
      const t0 = Date.now();
      await env.client.startOrchestration("later-1", "Later", "hidden-value");
      const r = await env.client.waitForOrchestration("later-1", 10_000);
      assert.equal(r.status, "Completed", r.error);
      assert.equal(r.output, "echo hidden-value");
      assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms of real time`);
      // The runtime and client went through the wrapper: the store itself holds the output encoded.
      const stored = await env.provider.getStatus("later-1");
      assert.ok(stored?.output && !stored.output.includes("hidden-value"));
    } finally {
      await env.close();
    }
  });

  it("a wrapper without pendingWork is refused with a clear error (time could not skip)", async () => {
    const hide = (s: Provider): Provider => new Proxy(s, { get: (t, k) => (k === "pendingWork" ? undefined : ((v: unknown) => (typeof v === "function" ? v.bind(t) : v))(Reflect.get(t, k, t))) });
    await assert.rejects(TestEnvironment.create({ wrapStore: hide }), (e: unknown) => e instanceof InvalidArgumentError && /pendingWork/.test(e.message));
  });
});
