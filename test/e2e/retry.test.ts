import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ActivityFailedError,
  InvalidArgumentError,
  delayForAttempt,
  resolveRetryPolicy,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

describe(`[${kind}] retry policy: resolution and formulas`, () => {
  it("defaults: 3 attempts, exponential 100 ms ×2 capped at 30 s, no timeout", () => {
    const p = resolveRetryPolicy({});
    assert.equal(p.maxAttempts, 3);
    assert.deepEqual(p.backoff, { kind: "exponential", baseMs: 100, multiplier: 2, maxMs: 30_000 });
    assert.equal(p.timeoutMs, null);
    assert.deepEqual([1, 2, 3, 4].map((n) => delayForAttempt(p.backoff, n)), [100, 200, 400, 800]);
    assert.equal(delayForAttempt(p.backoff, 20), 30_000);
  });
  it("strategies: none, fixed, linear (capped), exponential (capped)", () => {
    assert.equal(delayForAttempt({ kind: "none" }, 5), 0);
    assert.equal(delayForAttempt({ kind: "fixed", delayMs: 250 }, 7), 250);
    assert.deepEqual([1, 2, 3, 10].map((n) => delayForAttempt({ kind: "linear", baseMs: 100, maxMs: 250 }, n)), [100, 200, 250, 250]);
    assert.deepEqual(
      [1, 2, 3].map((n) => delayForAttempt({ kind: "exponential", baseMs: 10, multiplier: 3, maxMs: 50 }, n)),
      [10, 30, 50],
    );
  });
  it("duroxide-node shape: backoff strings and a number of ms", () => {
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: 2, backoff: "fixed" }).backoff, { kind: "fixed", delayMs: 1_000 });
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: 2, backoff: "linear" }).backoff, { kind: "linear", baseMs: 100, maxMs: 30_000 });
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: 2, backoff: "none" }).backoff, { kind: "none" });
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: 2, backoff: 42 }).backoff, { kind: "fixed", delayMs: 42 });
    const p = resolveRetryPolicy({ maxAttempts: 4, backoff: "exponential", timeoutMs: 5_000, totalTimeoutMs: 30_000 });
    assert.equal(p.timeoutMs, 5_000);
    assert.equal(p.totalTimeoutMs, 30_000);
  });
  it("maxAttempts < 1 and bad backoffs are InvalidArgumentError", () => {
    assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), InvalidArgumentError);
    assert.throws(() => resolveRetryPolicy({ maxAttempts: 1.5 }), InvalidArgumentError);
    assert.throws(() => resolveRetryPolicy({ backoff: "sometimes" as never }), InvalidArgumentError);
    assert.throws(() => resolveRetryPolicy({ backoff: -1 }), InvalidArgumentError);
  });
});

for (const replayEveryTurn of [false, true]) {
  describe(`[${kind}] retry e2e (replayEveryTurn=${replayEveryTurn})`, () => {
    it("async: fails twice, succeeds on the 3rd attempt; backoff waits are durable timers in history", async () => {
      let calls = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Flaky", async (_c, x: number) => {
            calls++;
            if (calls < 3) throw new Error(`flake ${calls}`);
            return x * 2;
          });
          rt.registerOrchestration("R", async (ctx: OrchestrationContext, x: number) =>
            ctx.scheduleActivityWithRetry<number>("Flaky", x, { maxAttempts: 5, backoff: { kind: "linear", baseMs: 20, maxMs: 1_000 } }),
          );
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("r1", "R", 21);
        const r = await h.client.waitForOrchestration("r1", 5_000);
        assert.equal(r.status, "Completed");
        assert.equal(r.output, 42);
        assert.equal(calls, 3);
        const hist = await h.client.readHistory("r1");
        assert.equal(hist.filter((e) => e.type === "ActivityScheduled").length, 3);
        assert.equal(hist.filter((e) => e.type === "ActivityFailed").length, 2);
        const timers = hist.filter((e) => e.type === "TimerCreated");
        assert.equal(timers.length, 2, "one durable timer per backoff wait");
        // linear 20 ms × attempt: fire times are 20 and 40 ms after creation
        const gaps = timers.map((t) => (t as { fireAtMs: number }).fireAtMs - t.timestampMs);
        assert.ok(gaps[0]! >= 19 && gaps[0]! <= 25 && gaps[1]! >= 39 && gaps[1]! <= 45, `gaps ${gaps}`);
        assert.equal(hist.filter((e) => e.type === "TimerFired").length, 2);
      } finally {
        await h.close();
      }
    });

    it("generator: exhausts attempts and fails with the last error (catchable, typed)", async () => {
      let calls = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Bad", async () => {
            calls++;
            throw new Error(`bad #${calls}`);
          });
          rt.registerOrchestration("G", function* (ctx: OrchestrationContext): Generator<unknown, unknown, unknown> {
            try {
              yield ctx.scheduleActivityWithRetry("Bad", null, { maxAttempts: 3, backoff: "none" });
              return "no";
            } catch (e) {
              return { msg: (e as Error).message, typed: e instanceof ActivityFailedError };
            }
          });
          rt.registerOrchestration("Uncaught", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetryTyped("Bad", 1, { maxAttempts: 2, backoff: 5 }),
          );
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("g1", "G");
        const r = await h.client.waitForOrchestration("g1", 5_000);
        assert.deepEqual(r.output, { msg: "bad #3", typed: true });
        const hist = await h.client.readHistory("g1");
        assert.equal(hist.filter((e) => e.type === "TimerCreated").length, 0, "backoff none: no timers");
        await h.client.startOrchestration("u1", "Uncaught");
        const u = await h.client.waitForOrchestration("u1", 5_000);
        assert.equal(u.status, "Failed");
        assert.equal(u.error, "bad #5");
      } finally {
        await h.close();
      }
    });

    it("per-attempt timeout: a timed-out attempt is not retried; the slow attempt is cancelled", async () => {
      let calls = 0;
      let aborted = false;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async (ctx) => {
            calls++;
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, 3_000);
              ctx.signal.addEventListener("abort", () => {
                aborted = true;
                clearTimeout(t);
                resolve();
              });
            });
            return "late";
          });
          rt.registerOrchestration("T", async (ctx: OrchestrationContext) => {
            try {
              await ctx.scheduleActivityWithRetry("Slow", null, { maxAttempts: 5, timeoutMs: 100, backoff: "none" });
              return "no";
            } catch (e) {
              return (e as Error).message;
            }
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("t1", "T");
        const r = await h.client.waitForOrchestration("t1", 5_000);
        assert.equal(r.output, "timeout: activity timed out");
        assert.equal(calls, 1, "no retry after a timeout");
        const hist = await h.client.readHistory("t1");
        assert.equal(hist.filter((e) => e.type === "ActivityScheduled").length, 1);
        assert.ok(hist.some((e) => e.type === "ActivityCancelRequested"), "the timed-out attempt was withdrawn");
        const deadline = Date.now() + 2_000;
        while (!aborted && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
        assert.ok(aborted, "running attempt signalled");
      } finally {
        await h.close();
      }
    });

    it("per-attempt timeout: failures before the timeout are retried; totalTimeoutMs bounds everything", async () => {
      let fastCalls = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("FailFast", async () => {
            fastCalls++;
            if (fastCalls < 2) throw new Error("quick failure");
            return "ok";
          });
          rt.registerActivity("AlwaysFail", async () => {
            throw new Error("nope");
          });
          rt.registerOrchestration("A", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetry("FailFast", null, { maxAttempts: 3, timeoutMs: 2_000, backoff: { kind: "fixed", delayMs: 10 } }),
          );
          rt.registerOrchestration("Total", async (ctx: OrchestrationContext) => {
            try {
              await ctx.scheduleActivityWithRetry("AlwaysFail", null, { maxAttempts: 100, backoff: { kind: "fixed", delayMs: 100 }, totalTimeoutMs: 250 });
              return "no";
            } catch (e) {
              return (e as Error).message;
            }
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("a1", "A");
        assert.equal((await h.client.waitForOrchestration("a1", 5_000)).output, "ok");
        assert.equal(fastCalls, 2);
        const t0 = Date.now();
        await h.client.startOrchestration("tt", "Total");
        assert.equal((await h.client.waitForOrchestration("tt", 5_000)).output, "timeout: activity timed out");
        assert.ok(Date.now() - t0 < 2_000);
        const attempts = (await h.client.readHistory("tt")).filter((e) => e.type === "ActivityScheduled").length;
        assert.ok(attempts >= 2 && attempts <= 4, `attempts within the total deadline: ${attempts}`);
      } finally {
        await h.close();
      }
    });

    it("on session: every attempt goes to the same session; maxAttempts 0 fails the orchestration", async () => {
      const sessions: (string | null)[] = [];
      const h = await harness(
        (rt) => {
          rt.registerActivity("S", async (ctx) => {
            sessions.push(ctx.sessionId);
            if (sessions.length < 3) throw new Error("again");
            return ctx.sessionId;
          });
          rt.registerOrchestration("OnS", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetryOnSession("S", null, { maxAttempts: 3, backoff: "none" }, "sess-1"),
          );
          rt.registerOrchestration("Zero", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetry("S", null, { maxAttempts: 0 }),
          );
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("s1", "OnS");
        assert.equal((await h.client.waitForOrchestration("s1", 5_000)).output, "sess-1");
        assert.deepEqual(sessions, ["sess-1", "sess-1", "sess-1"]);
        await h.client.startOrchestration("z1", "Zero");
        const z = await h.client.waitForOrchestration("z1", 5_000);
        assert.equal(z.status, "Failed");
        assert.match(z.error ?? "", /maxAttempts must be an integer ≥ 1/);
      } finally {
        await h.close();
      }
    });
  });
}

}
