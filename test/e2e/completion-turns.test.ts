// Completion turns (Provider.ackWorkItemWithTurn): an activity's completion and the turn it causes
// are committed together when this process holds the instance's execution. The orchestration must
// end exactly as without them (same result, same history), the path must be taken on both stores,
// and a turn the store refuses must leave no trace.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HistoryEvent, OrchestrationContext, Provider, Runtime } from "../../src/index.js";
import type { CompletionTurn, WorkAckOptions } from "../../src/providers/provider.js";
import type { WorkItem } from "../../src/model/workItems.js";
import { harness, PROVIDERS, type ProviderKind } from "./harness.js";

const STEPS = 12;

interface Counts {
  applied: number;
  refused: number;
  orchestratorAcks: number;
}

/**
 * The provider seen through a wrapper that counts combined acks and orchestrator acks; without
 * `withTurns` it hides ackWorkItemWithTurn (the runtime then acks as before). `beforeTurn` runs
 * before each combined ack reaches the store.
 */
function counting(counts: Counts, withTurns: boolean, beforeTurn?: (inner: Provider, turn: CompletionTurn) => Promise<void>): (p: Provider) => Provider {
  return (inner) =>
    new Proxy(inner, {
      get(target, key) {
        if (key === "ackWorkItemWithTurn") {
          if (!withTurns || target.ackWorkItemWithTurn === undefined) return undefined;
          return async (token: string, completion: WorkItem, turn: CompletionTurn, options?: WorkAckOptions) => {
            await beforeTurn?.(target, turn);
            const r = await target.ackWorkItemWithTurn!(token, completion, turn, options);
            if (r.applied) counts.applied++;
            else counts.refused++;
            return r;
          };
        }
        if (key === "ackOrchestrationItem") {
          return (...args: Parameters<Provider["ackOrchestrationItem"]>) => {
            counts.orchestratorAcks++;
            return target.ackOrchestrationItem(...args);
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
}

function register(rt: Runtime): void {
  rt.registerActivity("Add", async (_ctx, x: number) => x + 1);
  rt.registerActivity("Fail", async () => {
    throw new Error("boom");
  });
  rt.registerOrchestration("Steps", async (ctx: OrchestrationContext, n: number) => {
    let x = 0;
    for (let i = 0; i < n; i++) {
      x = await ctx.scheduleActivity<number>("Add", x);
      ctx.setValue("x", String(x));
      if (i % 4 === 0) ctx.setCustomStatus(`at ${x}`);
    }
    let failed = "";
    try {
      await ctx.scheduleActivity("Fail", null);
    } catch (err) {
      failed = (err as Error).message;
    }
    const go = await ctx.waitForEvent<string>("go");
    return { x, failed: failed.includes("boom"), go };
  });
}

/** History without its times: what must not differ between the two paths. */
function timeless(events: HistoryEvent[]): unknown[] {
  return events.map((e) => JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === "timestampMs" || k === "lastUpdatedAtMs" ? undefined : v))) as unknown);
}

async function run(kind: ProviderKind, counts: Counts, withTurns: boolean, beforeTurn?: (inner: Provider, turn: CompletionTurn) => Promise<void>) {
  const h = await harness(register, {}, kind, counting(counts, withTurns, beforeTurn));
  try {
    await h.client.startOrchestration("s", "Steps", STEPS);
    // The event arrives once the orchestration waits for it (after the failed activity).
    const deadline = Date.now() + 20_000;
    while ((await h.client.getStatus("s")).customStatus === null || (await h.provider.read("s")).every((e) => e.type !== "ActivityFailed")) {
      assert.ok(Date.now() < deadline, "the orchestration never reached its last activity");
      await new Promise((r) => setTimeout(r, 10));
    }
    await h.client.raiseEvent("s", "go", "now");
    const s = await h.client.waitForOrchestration("s", 20_000);
    assert.equal(s.status, "Completed");
    assert.deepEqual(s.output, { x: STEPS, failed: true, go: "now" });
    assert.equal(await h.client.getValue("s", "x"), String(STEPS));
    return { history: await h.provider.read("s") };
  } finally {
    await h.close();
  }
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] completion turns`, () => {
    it("a sequential orchestration stores each completion with its turn: same result and history as without", async () => {
      const on: Counts = { applied: 0, refused: 0, orchestratorAcks: 0 };
      const off: Counts = { applied: 0, refused: 0, orchestratorAcks: 0 };
      const withTurns = await run(kind, on, true);
      const without = await run(kind, off, false);
      assert.deepEqual(timeless(withTurns.history), timeless(without.history));
      // Every activity's completion (STEPS adds and the failure) was stored with its turn; the first
      // turn was stored with the start (createInstanceWithTurn), so only the event's turn went
      // through ackOrchestrationItem.
      assert.equal(on.applied, STEPS + 1);
      assert.equal(on.refused, 0);
      assert.equal(on.orchestratorAcks, 1);
      assert.equal(off.applied, 0);
      assert.equal(off.orchestratorAcks, STEPS + 2);
    });

    it("a turn the store refuses leaves no trace: the completion is delivered by the next turn", async () => {
      const counts: Counts = { applied: 0, refused: 0, orchestratorAcks: 0 };
      let raised = false;
      // Before the third combined ack: an unrelated event for the instance is queued, so the store
      // must refuse that turn (it would have to be part of it).
      const { history } = await run(kind, counts, true, async (inner, turn) => {
        if (counts.applied === 2 && !raised) {
          raised = true;
          await inner.enqueueForOrchestrator({ type: "ExternalRaised", instance: turn.instance, name: "noise", data: '"x"' });
        }
      });
      assert.equal(counts.refused, 1);
      assert.ok(counts.applied >= STEPS - 1, `applied ${counts.applied}`);
      const completions = history.filter((e) => e.type === "ActivityCompleted" || e.type === "ActivityFailed");
      assert.equal(completions.length, STEPS + 1);
      assert.deepEqual(
        completions.map((e) => e.sourceEventId),
        history.filter((e) => e.type === "ActivityScheduled").map((e) => e.eventId),
      );
      const ids = history.map((e) => e.eventId);
      assert.deepEqual(ids, ids.map((_, i) => i + 1));
      assert.equal(history.filter((e) => e.type === "ExternalEvent").length, 2);
    });
  });
}
