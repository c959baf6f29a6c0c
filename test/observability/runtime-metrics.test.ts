// runtime.metricsSnapshot() is exact for known workloads (SQLite): a start is a start (not a
// turn), each activity is counted once, dispatcher fetches, failures by category, continue-as-new,
// sub-orchestration calls, poison and provider errors; duration histograms; sinks see the same.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ProviderError,
  Runtime,
  SqliteProvider,
  type MetricsSink,
  type OrchestrationContext,
  type Provider,
} from "../../src/index.js";

interface Probe {
  provider: Provider;
  orchFetched: number;
  workFetched: number;
  /** Turns stored with their completion's worker ack (never fetched). */
  completionTurns: number;
  /** First turns stored with their instance's creation (never fetched). */
  startTurns: number;
}

/**
 * Wraps a provider to count what the dispatchers fetch, to fail the first `failWorkFetches`
 * worker fetches, and to make items of instance "poison" / activity "PoisonAct" look over-attempted.
 * It takes no leases from acks and no instances from worker acks and has no batch fetches (all
 * allowed by the contract), so activities and turns are always fetched, one per call.
 */
function probe(inner: Provider, failWorkFetches: number, completionTurns: boolean): Probe {
  const state: Probe = { provider: inner, orchFetched: 0, workFetched: 0, completionTurns: 0, startTurns: 0 };
  let failuresLeft = failWorkFetches;
  state.provider = new Proxy(inner, {
    get(target, key) {
      // No batch fetches: every fetch goes through the counted single paths below.
      if (key === "fetchOrchestrationItems" || key === "fetchWorkItems") return undefined;
      if (key === "fetchOrchestrationItem") {
        return async (...args: Parameters<Provider["fetchOrchestrationItem"]>) => {
          const item = await target.fetchOrchestrationItem(...args);
          if (item) {
            state.orchFetched++;
            if (item.instance === "poison") item.attemptCount = 99;
          }
          return item;
        };
      }
      if (key === "ackOrchestrationItem") {
        // Model a store that leases nothing from acks, so every activity goes through the
        // counted (and fault-injected) fetchWorkItem path below.
        return (token: string, ack: Parameters<Provider["ackOrchestrationItem"]>[1]) => {
          const { leaseWorkerItems: _ignored, ...rest } = ack;
          return target.ackOrchestrationItem(token, rest);
        };
      }
      if (key === "ackWorkItem") {
        // Nor does it lock the completion's instance from a worker ack: every turn goes through
        // the counted fetchOrchestrationItem path above.
        return (token: string, completion: Parameters<Provider["ackWorkItem"]>[1]) => target.ackWorkItem(token, completion);
      }
      // With `completionTurns`, a completion's turn may be stored with its worker ack (counted);
      // without, every turn is fetched.
      if (key === "ackWorkItemWithTurn") {
        if (!completionTurns) return undefined;
        return async (...[token, completion, turn, options]: Parameters<NonNullable<Provider["ackWorkItemWithTurn"]>>) => {
          // No leases here either: every activity is fetched.
          const { leaseWorkerItems: _ignored, ...ack } = turn.ack;
          const r = await target.ackWorkItemWithTurn!(token, completion, { ...turn, ack }, options);
          if (r.applied) state.completionTurns++;
          return r;
        };
      }
      // Likewise a first turn may be stored with its instance's creation (leasing nothing), except
      // for "poison", which must be fetched to look over-attempted: its start is queued instead.
      if (key === "createInstanceWithTurn") {
        if (!completionTurns) return undefined;
        return async (...[item, turn]: Parameters<NonNullable<Provider["createInstanceWithTurn"]>>) => {
          if (item.instance === "poison") {
            await target.createInstance(item);
            return { applied: false };
          }
          const { leaseWorkerItems: _ignored, ...ack } = turn.ack;
          const r = await target.createInstanceWithTurn!(item, { ack });
          if (r.applied) state.startTurns++;
          return r;
        };
      }
      if (key === "fetchWorkItem") {
        return async (...args: Parameters<Provider["fetchWorkItem"]>) => {
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new ProviderError("fetchWorkItem", "injected: database is locked", true);
          }
          const lease = await target.fetchWorkItem(...args);
          if (lease) {
            state.workFetched++;
            if (lease.item.name === "PoisonAct") lease.attemptCount = 99;
          }
          return lease;
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return state;
}

class CountingSink implements MetricsSink {
  counters = new Map<string, number>();
  histograms = new Map<string, number>();
  counter(name: string, value: number): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }
  histogram(name: string): void {
    this.histograms.set(name, (this.histograms.get(name) ?? 0) + 1);
  }
  gauge(): void {}
}

function register(rt: Runtime): void {
  rt.registerActivity("Ok", async (_ctx, x: number) => x + 1);
  rt.registerActivity("Boom", async () => {
    throw new Error("boom");
  });
  rt.registerActivity("PoisonAct", async () => "never runs");
  // 3 activities over 4 turns: one start.
  rt.registerOrchestration("Three", async (ctx: OrchestrationContext) => {
    let v = 0;
    for (let i = 0; i < 3; i++) v = await ctx.scheduleActivity<number>("Ok", v);
    return v;
  });
  rt.registerOrchestration("CatchBoom", async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleActivity("Boom", null);
    } catch {
      return "caught";
    }
    return "no";
  });
  rt.registerOrchestration("Fails", async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity("Ok", 1);
    throw new Error("orchestration failed on purpose");
  });
  rt.registerOrchestration("Loop", async (ctx: OrchestrationContext, i: number) => {
    await ctx.scheduleActivity("Ok", i);
    if (i >= 3) return i;
    return ctx.continueAsNew(i + 1);
  });
  rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => {
    const r = await ctx.join([ctx.scheduleSubOrchestration<number>("Three"), ctx.scheduleSubOrchestration<number>("Three")]);
    return r.length;
  });
  rt.registerOrchestration("PoisonCaller", async (ctx: OrchestrationContext) => {
    try {
      await ctx.scheduleActivity("PoisonAct", null);
    } catch {
      return "poisoned";
    }
    return "no";
  });
  rt.registerOrchestration("Poisoned", async (ctx: OrchestrationContext) => await ctx.scheduleActivity("Ok", 1));
}

for (const [replayEveryTurn, completionTurns] of [[false, false], [true, false], [false, true]] as const) {
  describe(`runtime metrics are exact (sqlite, replayEveryTurn=${replayEveryTurn}, completion and start turns=${completionTurns})`, () => {
    it("known workload", async () => {
      const inner = await SqliteProvider.inMemory();
      const pr = probe(inner, 2, completionTurns);
      const fromOptions = new CountingSink();
      const rt = new Runtime(pr.provider, {
        dispatcherPollIntervalMs: 10,
        logLevel: "off",
        replayEveryTurn,
        metricsSinks: [fromOptions],
      });
      const added = new CountingSink();
      const remove = rt.metrics.addSink(added);
      register(rt);
      await rt.start();
      const c = rt.client;
      try {
        const run = async (id: string, name: string, input?: unknown) => {
          await c.startOrchestration(id, name, input);
          return c.waitForOrchestration(id, 10_000);
        };
        assert.equal((await run("three", "Three")).output, 3);
        assert.equal((await run("catch", "CatchBoom")).output, "caught");
        assert.equal((await run("fails", "Fails")).status, "Failed");
        assert.equal((await run("loop", "Loop", 1)).output, 3);
        assert.equal((await run("parent", "Parent")).output, 2);
        // A poisoned activity fails its orchestration (poison is not a catchable activity error).
        assert.match((await run("pcall", "PoisonCaller")).error ?? "", /poison: activity PoisonAct/);
        assert.equal((await run("poison", "Poisoned")).status, "Failed");
        await new Promise((r) => setTimeout(r, 50));

        const m = rt.metricsSnapshot();
        // Executions: three 1, catch 1, fails 1, loop 3, parent 1 + 2 children, pcall 1; "poison" is
        // poisoned on its first fetch, before any execution starts.
        assert.equal(m.orchStarts, 10, "one per execution, never per turn");
        assert.equal(m.orchCompletions, 6, "three, catch, loop's last execution, parent, 2 children");
        assert.equal(m.orchContinueAsNew, 2);
        assert.equal(m.orchFailures, 3, "fails (application), pcall (its activity was poisoned), poison");
        assert.equal(m.orchApplicationErrors, 1);
        assert.equal(m.orchInfrastructureErrors, 0);
        assert.equal(m.orchConfigurationErrors, 0);
        assert.equal(m.orchPoison, 1);
        assert.equal(m.orchStarts, m.orchCompletions + m.orchContinueAsNew + m.orchFailures - m.orchPoison, "every started execution ended once");
        assert.equal(m.suborchestrationCalls, 2);
        assert.equal(m.activitySuccess, 13, "three 3, fails 1, loop 3, children 6: once each, not doubled");
        assert.equal(m.activityAppErrors, 1);
        assert.equal(m.activityInfraErrors, 0);
        assert.equal(m.activityConfigErrors, 0);
        assert.equal(m.activityPoison, 1);
        assert.equal(m.providerErrors, 2, "the two injected fetch failures");
        assert.equal(pr.workFetched, 15);
        assert.equal(m.workerDispatcherItemsFetched, pr.workFetched);
        assert.equal(m.orchDispatcherItemsFetched, pr.orchFetched);
        const turns = m.orchDispatcherItemsFetched + pr.completionTurns + pr.startTurns;
        assert.ok(turns >= 20, `at least one fetch, completion or start turn per turn (${m.orchDispatcherItemsFetched} + ${pr.completionTurns} + ${pr.startTurns})`);
        if (completionTurns) assert.ok(pr.completionTurns >= 5, `completion turns were stored (${pr.completionTurns})`);
        // Every client start but the poisoned one's ran its first turn here (children are started by their parent's ack).
        if (completionTurns) assert.equal(pr.startTurns, 6);
        assert.equal(m.activityDurationMs.count, 14, "every executed activity (poisoned ones never ran)");
        assert.ok(m.turnDurationMs.count >= 20 && m.turnDurationMs.count <= turns);
        assert.ok(m.turnDurationMs.max >= m.turnDurationMs.p50 && m.turnDurationMs.sum > 0);

        for (const sink of [fromOptions, added]) {
          const ctr = (n: string) => sink.counters.get(n) ?? 0;
          assert.equal(ctr("duroxide_orchestration_starts_total"), 10);
          assert.equal(ctr("duroxide_orchestration_completions_total"), 11, "completed 6 + failed 3 + continued 2");
          assert.equal(ctr("duroxide_orchestration_failures_total"), 3);
          assert.equal(ctr("duroxide_orchestration_continue_as_new_total"), 2);
          assert.equal(ctr("duroxide_activity_executions_total"), 14);
          assert.equal(ctr("duroxide_activity_poison_total"), 1);
          assert.equal(ctr("duroxide_orchestration_poison_total"), 1);
          assert.equal(ctr("duroxide_suborchestration_calls_total"), 2);
          assert.equal(ctr("duroxide_provider_errors_total"), 2);
          assert.equal(ctr("duroxide_worker_dispatcher_items_fetched"), pr.workFetched);
          assert.equal(ctr("duroxide_orchestration_dispatcher_items_fetched"), pr.orchFetched);
          assert.equal(sink.histograms.get("duroxide_orchestration_turn_duration_seconds"), m.turnDurationMs.count);
          assert.equal(sink.histograms.get("duroxide_activity_duration_seconds"), 14);
        }
      } finally {
        remove();
        await rt.shutdown(200);
        await inner.close();
      }
    });
  });
}
