// Failure semantics on both stores: typed errors across the activity/child boundary (live and
// replayed), non-retryable failures, heartbeats (lost attempts, resuming from details, long
// activities kept alive, fenced late results) and per-attempt timeouts with and without retry.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ActivityFailedError,
  NonRetryableError,
  SubOrchestrationFailedError,
  type ActivityContext,
  type HistoryEvent,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

class CardDeclinedError extends Error {
  readonly code = "card_declined";
  constructor(readonly details: { reason: string; amount: number }) {
    super(`card declined: ${details.reason}`);
    this.name = "CardDeclinedError";
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fieldsOf(e: unknown): Record<string, unknown> {
  assert.ok(e instanceof ActivityFailedError || e instanceof SubOrchestrationFailedError, `unexpected ${String(e)}`);
  return {
    isActivityFailed: e instanceof ActivityFailedError,
    name: e.name,
    message: e.message,
    code: e.code,
    details: e.details ?? null,
    activityName: e.activityName ?? null,
    attempt: e.attempt ?? null,
  };
}

function failedEvents(h: HistoryEvent[]): Array<Extract<HistoryEvent, { type: "ActivityFailed" }>> {
  return h.filter((e): e is Extract<HistoryEvent, { type: "ActivityFailed" }> => e.type === "ActivityFailed");
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] typed errors cross the activity and child boundary`, () => {
    for (const replayEveryTurn of [false, true]) {
      it(`name, message, code, details, activity and attempt arrive intact and replay identically (replayEveryTurn=${replayEveryTurn})`, async () => {
        const h = await harness(
          (rt) => {
            rt.registerActivity("Charge", async () => {
              throw new CardDeclinedError({ reason: "insufficient_funds", amount: 42 });
            });
            rt.registerOrchestration("Pay", async (ctx: OrchestrationContext) => {
              let seen: Record<string, unknown> | null = null;
              try {
                await ctx.scheduleActivity("Charge", { amount: 42 });
              } catch (e) {
                seen = fieldsOf(e);
              }
              ctx.setCustomStatus(JSON.stringify(seen));
              await ctx.waitForEvent("go"); // the next turn replays the failure from history
              return seen;
            });
          },
          { replayEveryTurn },
          kind,
        );
        try {
          await h.client.startOrchestration("p1", "Pay", null);
          const deadline = Date.now() + 5_000;
          let live: string | undefined;
          while (Date.now() < deadline && !(live = (await h.client.getStatus("p1")).customStatus)) await sleep(20);
          assert.ok(live, "the orchestration recorded what it caught");
          await h.client.raiseEvent("p1", "go", null);
          const r = await h.client.waitForOrchestration("p1", 5_000);
          assert.equal(r.status, "Completed");
          const expected = {
            isActivityFailed: true,
            name: "CardDeclinedError",
            message: "card declined: insufficient_funds",
            code: "card_declined",
            details: { reason: "insufficient_funds", amount: 42 },
            activityName: "Charge",
            attempt: 1,
          };
          assert.deepEqual(JSON.parse(live), expected, "live delivery");
          assert.deepEqual(r.output, expected, "after replay");
          const [ev] = failedEvents(await h.client.readHistory("p1"));
          assert.ok(ev);
          assert.equal(ev.details.category, "application");
          assert.deepEqual(
            ev.details.category === "application"
              ? { errorName: ev.details.errorName, code: ev.details.code, details: ev.details.details, activityName: ev.details.activityName }
              : null,
            { errorName: "CardDeclinedError", code: "card_declined", details: { reason: "insufficient_funds", amount: 42 }, activityName: "Charge" },
          );
        } finally {
          await h.close();
        }
      });
    }

    it("an uncaught typed error fails the instance with the same shape in getStatus, management and the parent", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Charge", async () => {
            throw new NonRetryableError("card declined", { code: "card_declined", details: { reason: "stolen" } });
          });
          rt.registerOrchestration("Child", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Charge", null));
          rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => {
            try {
              await ctx.scheduleSubOrchestrationWithId("Child", "child-1", null);
              return null;
            } catch (e) {
              return fieldsOf(e);
            }
          });
        },
        {},
        kind,
      );
      try {
        await h.client.startOrchestration("parent-1", "Parent", null);
        const r = await h.client.waitForOrchestration("parent-1", 5_000);
        assert.equal(r.status, "Completed");
        assert.deepEqual(r.output, {
          isActivityFailed: false,
          name: "NonRetryableError",
          message: "card declined",
          code: "card_declined",
          details: { reason: "stolen" },
          activityName: null,
          attempt: null,
        });
        const child = await h.client.getStatus("child-1");
        assert.equal(child.status, "Failed");
        assert.equal(child.error, "card declined");
        assert.deepEqual(child.failure, {
          category: "application",
          name: "NonRetryableError",
          message: "card declined",
          code: "card_declined",
          details: { reason: "stolen" },
          nonRetryable: true,
        });
        const state = await h.client.getInstanceState("child-1");
        assert.equal(state.failure?.info().code, "card_declined");
        const info = await h.client.getInstanceInfo("child-1");
        assert.deepEqual(info.failure, child.failure, "management shows the same failure");
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${kind}] non-retryable failures end the retry loop at once`, () => {
    const cases: Array<[string, () => Error, { nonRetryableErrors?: string[] }]> = [
      ["NonRetryableError", () => new NonRetryableError("declined", { code: "card_declined" }), {}],
      ["a nonRetryable: true property", () => Object.assign(new Error("declined"), { nonRetryable: true }), {}],
      ["a code listed in the policy", () => Object.assign(new Error("declined"), { code: "card_declined" }), { nonRetryableErrors: ["card_declined"] }],
      ["a name listed in the policy", () => new CardDeclinedError({ reason: "x", amount: 1 }), { nonRetryableErrors: ["CardDeclinedError"] }],
    ];
    for (const [what, make, policy] of cases) {
      it(`${what}: one attempt, no backoff timer`, async () => {
        let calls = 0;
        const h = await harness(
          (rt) => {
            rt.registerActivity("Charge", async () => {
              calls++;
              throw make();
            });
            rt.registerOrchestration("Pay", async (ctx: OrchestrationContext) => {
              try {
                await ctx.scheduleActivityWithRetry("Charge", null, { maxAttempts: 5, backoff: { kind: "fixed", delayMs: 50 }, ...policy });
                return "charged";
              } catch (e) {
                return { declined: (e as ActivityFailedError).message, attempt: (e as ActivityFailedError).attempt };
              }
            });
          },
          {},
          kind,
        );
        try {
          await h.client.startOrchestration("p", "Pay", null);
          const r = await h.client.waitForOrchestration("p", 5_000);
          assert.deepEqual(r.output, { declined: make().message, attempt: 1 });
          assert.equal(calls, 1);
          const hist = await h.client.readHistory("p");
          assert.equal(hist.filter((e) => e.type === "ActivityScheduled").length, 1);
          assert.equal(hist.filter((e) => e.type === "TimerCreated").length, 0);
        } finally {
          await h.close();
        }
      });
    }

    it("an ordinary error is still retried (control)", async () => {
      let calls = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Charge", async () => {
            calls++;
            throw Object.assign(new Error("network"), { code: "ECONNRESET" });
          });
          rt.registerOrchestration("Pay", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetry("Charge", null, { maxAttempts: 3, backoff: "none", nonRetryableErrors: ["card_declined"] }),
          );
        },
        {},
        kind,
      );
      try {
        await h.client.startOrchestration("p", "Pay", null);
        const r = await h.client.waitForOrchestration("p", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(calls, 3);
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${kind}] heartbeats`, () => {
    it("an attempt that stops heartbeating is lost within heartbeatTimeoutMs, retried per policy, resumes from its last details; its late result is discarded", async () => {
      const starts: Array<{ attempt: number; resumeFrom: unknown; at: number }> = [];
      let lateReturned = false;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Export", async (ctx: ActivityContext) => {
            starts.push({ attempt: starts.length + 1, resumeFrom: ctx.lastHeartbeatDetails() ?? null, at: Date.now() });
            if (starts.length === 1) {
              ctx.heartbeat({ rows: 100 });
              // Hangs without heartbeating and ignores its signal, then comes back late.
              await sleep(1_500);
              lateReturned = true;
              return "late result";
            }
            return `resumed after ${(ctx.lastHeartbeatDetails<{ rows: number }>() ?? { rows: 0 }).rows}`;
          });
          rt.registerOrchestration("Job", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetry("Export", null, { maxAttempts: 3, backoff: "none", heartbeatTimeoutMs: 400 }),
          );
        },
        { workerLockTimeoutMs: 30_000 },
        kind,
      );
      try {
        await h.client.startOrchestration("j", "Job", null);
        const r = await h.client.waitForOrchestration("j", 10_000);
        assert.equal(r.status, "Completed");
        assert.equal(r.output, "resumed after 100");
        assert.equal(starts.length, 2);
        const gap = starts[1]!.at - starts[0]!.at;
        assert.ok(gap >= 350 && gap < 400 + 1_000, `lost attempt retried after ${gap} ms`);
        assert.deepEqual(starts[1]!.resumeFrom, { rows: 100 });
        await sleep(1_700 - gap);
        assert.ok(lateReturned, "the lost attempt did come back");
        await sleep(200);
        const hist = await h.client.readHistory("j");
        const [lost] = failedEvents(hist);
        assert.ok(lost && lost.details.category === "application");
        assert.equal(lost.details.code, "HeartbeatTimeout");
        assert.equal(lost.details.errorName, "HeartbeatTimeoutError");
        assert.equal(lost.details.lastHeartbeat, JSON.stringify({ rows: 100 }));
        const results = hist.filter((e) => e.type === "ActivityCompleted").map((e) => (e as { result: string }).result);
        assert.deepEqual(results, [JSON.stringify("resumed after 100")], "the fenced attempt's late result is never recorded");
      } finally {
        await h.close();
      }
    });

    it("a long activity that heartbeats keeps its lease past the worker lock timeout and runs once", async () => {
      let runs = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Long", async (ctx: ActivityContext) => {
            runs++;
            for (let i = 0; i < 20; i++) {
              await sleep(100);
              ctx.heartbeat({ step: i });
            }
            return "done";
          });
          // Runs 2 s: nearly 7 worker lock timeouts, 2 heartbeat timeouts.
          rt.registerOrchestration("Job", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivity("Long", null, { heartbeatTimeoutMs: 1_000 }),
          );
        },
        { workerLockTimeoutMs: 300 },
        kind,
      );
      const other = await h.openProvider();
      try {
        await h.client.startOrchestration("l", "Job", null);
        const r = await h.client.waitForOrchestration("l", 10_000);
        assert.equal(r.output, "done");
        assert.equal(runs, 1, "never taken away while it heartbeats");
        assert.equal(await other.fetchWorkItem(1_000, { tagFilter: { kind: "any" } }), null);
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${kind}] per-attempt timeouts`, () => {
    it("default: a timed-out attempt is not retried (seeds' rule); its late result is not delivered", async () => {
      let calls = 0;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async () => {
            calls++;
            await sleep(600);
            return "late";
          });
          rt.registerOrchestration("T", async (ctx: OrchestrationContext) => {
            try {
              return await ctx.scheduleActivityWithRetry("Slow", null, { maxAttempts: 3, timeoutMs: 150 });
            } catch (e) {
              return { message: (e as ActivityFailedError).message, code: (e as ActivityFailedError).code };
            }
          });
        },
        { activityCancellationGracePeriodMs: 2_000 },
        kind,
      );
      try {
        await h.client.startOrchestration("t", "T", null);
        const r = await h.client.waitForOrchestration("t", 5_000);
        assert.deepEqual(r.output, { message: "timeout: activity timed out", code: "ActivityTimeout" });
        await sleep(700);
        assert.equal(calls, 1);
      } finally {
        await h.close();
      }
    });

    it("retryOnTimeout: the timed-out attempt is fenced (its late result is dropped) and the next attempt's result wins", async () => {
      let calls = 0;
      let lateDone = false;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async () => {
            calls++;
            if (calls === 1) {
              await sleep(600); // ignores its cancellation signal
              lateDone = true;
              return "late";
            }
            return "fresh";
          });
          rt.registerOrchestration("T", async (ctx: OrchestrationContext) =>
            ctx.scheduleActivityWithRetry("Slow", null, { maxAttempts: 3, timeoutMs: 150, retryOnTimeout: true, backoff: "none" }),
          );
        },
        { activityCancellationGracePeriodMs: 2_000 },
        kind,
      );
      try {
        await h.client.startOrchestration("t", "T", null);
        const r = await h.client.waitForOrchestration("t", 5_000);
        assert.equal(r.output, "fresh");
        while (!lateDone) await sleep(20);
        await sleep(200);
        const hist = await h.client.readHistory("t");
        const results = hist.filter((e) => e.type === "ActivityCompleted").map((e) => (e as { result: string }).result);
        assert.ok(!results.includes('"late"'), "the late result of the timed-out attempt is never recorded");
        // Every timed-out attempt was cancelled durably; under load a later attempt may time out too,
        // and a result that reached the store before its cancellation is recorded after it, never delivered.
        const cancelled = new Set(hist.filter((e) => e.type === "ActivityCancelRequested").map((e) => e.sourceEventId));
        assert.ok(cancelled.size >= 1);
        for (const e of hist)
          if (e.type === "ActivityCompleted" && cancelled.has(e.sourceEventId)) {
            const cancelAt = hist.find((c) => c.type === "ActivityCancelRequested" && c.sourceEventId === e.sourceEventId)!.eventId;
            assert.ok(e.eventId > cancelAt, "a cancelled attempt's result only ever follows its cancellation");
          }
      } finally {
        await h.close();
      }
    });
  });
}
