// Provider conformance: a worker ack that also stores the turn its completion causes
// (`Provider.ackWorkItemWithTurn`). Optional for a provider; with `completionTurns: true` it
// promises to implement it. The turn applies only where the caller's execution stood; every refusal
// must leave exactly what `ackWorkItem` leaves (the completion queued, nothing of the turn).
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, activityItem, bootstrap, completed, event, external, fetchFor, sleep } from "./fixtures.js";
import { isPermanentProviderError, NO_TAGS, type SuiteContext } from "./harness.js";
import type { CompletionTurn, Provider, WorkAckOptions, WorkTurnAckResult } from "../provider.js";

/** Bootstraps `instance` (Started, ActivityScheduled 2; activity 2 queued) and leases activity 2; returns its lock token. */
async function leased(p: Provider, instance: string, lockMs: number): Promise<string> {
  await bootstrap(p, instance, {
    historyDelta: [event(instance, 1, 2, { type: "ActivityScheduled", name: "Act", input: '"input-2"' })],
    workerItems: [activityItem(instance, 2)],
  });
  const lease = await p.fetchWorkItem(lockMs, NO_TAGS);
  assert.equal(lease?.item.id, 2);
  return lease!.lockToken;
}

/** The turn a caller holding events 1..2 runs for activity 2's completion: it schedules activity 4, leased to it. */
function turnFor(instance: string, lockMs: number, lastEventId = 2): CompletionTurn {
  return {
    instance,
    executionId: 1,
    lastEventId,
    ack: ack(1, {
      historyDelta: [
        event(instance, 1, 3, { type: "ActivityCompleted", result: '"ok"' }, 2),
        event(instance, 1, 4, { type: "ActivityScheduled", name: "Act", input: '"input-4"' }),
      ],
      workerItems: [activityItem(instance, 4)],
      leaseWorkerItems: { indexes: [0], lockTimeoutMs: lockMs },
    }),
  };
}

async function types(p: Provider, instance: string): Promise<string[]> {
  return (await p.read(instance)).map((e) => e.type);
}

export function registerCompletionTurns({ test, LOCK, SHORT, PAST }: SuiteContext, exact: boolean, workAckLocks: boolean): void {
  /** The provider's ackWorkItemWithTurn, or null (then the test checks that it was not promised). */
  const withTurn = (p: Provider): ((t: string, c: ReturnType<typeof completed>, turn: CompletionTurn, o?: WorkAckOptions) => Promise<WorkTurnAckResult>) | null => {
    const f = p.ackWorkItemWithTurn?.bind(p);
    if (f === undefined) assert.equal(exact, false, "the provider promised ackWorkItemWithTurn");
    return f ?? null;
  };

  describe("worker acks that store the turn their completion causes", () => {
    test("a free instance where the turn began: the ack and the turn commit together, the completion is never queued", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      const r = await ackTurn(token, completed("a", 2), turnFor("a", LOCK));
      assert.equal(r.applied, true);
      if (!r.applied) return;
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled", "ActivityCompleted", "ActivityScheduled"]);
      // Consumed by the turn: nothing to fetch; activity 2 is gone, activity 4 is leased to us.
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      assert.equal(r.leases.length, 1);
      assert.equal(r.leases[0]!.item.id, 4);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      // The lock token is dead; the lease works as any lease.
      await assert.rejects(ackTurn(token, completed("a", 2), turnFor("a", LOCK, 4)), isPermanentProviderError());
      await p.ackWorkItem(r.leases[0]!.lockToken, completed("a", 4));
      assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 4)]);
      assert.equal((await p.getStatus("a"))?.status, "Running");
    });

    test("a turn that completes the execution stores its status and output", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      const turn: CompletionTurn = {
        instance: "a",
        executionId: 1,
        lastEventId: 2,
        ack: ack(1, {
          historyDelta: [
            event("a", 1, 3, { type: "ActivityCompleted", result: '"ok"' }, 2),
            event("a", 1, 4, { type: "OrchestrationCompleted", output: '"done"' }),
          ],
          metadata: { status: "Completed", output: '"done"' },
        }),
      };
      const r = await ackTurn(token, completed("a", 2), turn);
      assert.equal(r.applied, true);
      const s = await p.getStatus("a");
      assert.equal(s?.status, "Completed");
      assert.equal(s?.output, '"done"');
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("a turn that withdraws another activity (a race loser) withdraws it with the ack and reports it", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      await bootstrap(p, "a", {
        historyDelta: [
          event("a", 1, 2, { type: "ActivityScheduled", name: "Act", input: '"input-2"' }),
          event("a", 1, 3, { type: "ActivityScheduled", name: "Act", input: '"input-3"' }),
        ],
        workerItems: [activityItem("a", 2), activityItem("a", 3)],
      });
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(lease?.item.id, 2);
      const seen: string[] = [];
      const off = p.subscribe((n) => {
        if (n.kind === "activitiesCancelled") seen.push(...n.activities.map((x) => `${x.instance}:${x.executionId}:${x.activityId}`));
      });
      try {
        const r = await ackTurn(lease!.lockToken, completed("a", 2), {
          instance: "a",
          executionId: 1,
          lastEventId: 3,
          ack: ack(1, {
            historyDelta: [event("a", 1, 4, { type: "ActivityCompleted", result: '"ok"' }, 2)],
            cancelledActivities: [{ instance: "a", executionId: 1, activityId: 3 }],
          }),
        });
        assert.equal(r.applied, true);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 3 }), false);
        assert.deepEqual(seen, ["a:1:3"]);
      } finally {
        off();
      }
    });

    test("refused while another turn holds the instance: the completion is queued for after it, nothing of the turn is written", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      await p.enqueueForOrchestrator(external("a"));
      const held = await fetchFor(p, "a");
      const r = await ackTurn(token, completed("a", 2), turnFor("a", LOCK));
      assert.deepEqual(r, { applied: false, item: null });
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled"]);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), false);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await p.ackOrchestrationItem(held.lockToken, ack(1));
      assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 2)]);
    });

    test("refused when the history moved on since the turn began: the completion is queued", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      // Another turn (say, another process's) stored event 3 meanwhile.
      await p.enqueueForOrchestrator(external("a"));
      const other = await fetchFor(p, "a");
      await p.ackOrchestrationItem(other.lockToken, ack(1, { historyDelta: [event("a", 1, 3, { type: "ExternalEvent", name: "evt", data: '"data"' })] }));
      const r = await ackTurn(token, completed("a", 2), turnFor("a", LOCK));
      assert.equal(r.applied, false);
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled", "ExternalEvent"]);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), false);
      assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 2)]);
    });

    test("refused when another execution is current (continued as new)", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      const r = await ackTurn(token, completed("a", 2), { ...turnFor("a", LOCK), executionId: 2 });
      assert.equal(r.applied, false);
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled"]);
      assert.deepEqual((await fetchFor(p, "a")).messages, [completed("a", 2)]);
    });

    test("refused when another message of the instance is queued: both wait, in arrival order (handed over when asked)", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const token = await leased(p, "a", LOCK);
      await p.enqueueForOrchestrator(external("a"));
      const r = await ackTurn(token, completed("a", 2), turnFor("a", LOCK), { lockInstance: { lockTimeoutMs: LOCK } });
      assert.equal(r.applied, false);
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled"]);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), false);
      const item = r.applied ? null : r.item;
      if (workAckLocks) assert.notEqual(item, null, "the provider promised to lock the instance");
      const got = item ?? (await fetchFor(p, "a"));
      assert.deepEqual(got.messages, [external("a"), completed("a", 2)]);
    });

    test("a stale work token (lock lapsed, item leased again) writes nothing and rejects as ackWorkItem does", async (p) => {
      const ackTurn = withTurn(p);
      if (ackTurn === null) return;
      const stale = await leased(p, "a", SHORT);
      await sleep(PAST);
      const again = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(again?.item.id, 2);
      await assert.rejects(ackTurn(stale, completed("a", 2), turnFor("a", LOCK)), isPermanentProviderError());
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled"]);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), true);
      assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), false);
      // The current holder's ack (with its own turn) is the one that counts.
      const r = await ackTurn(again!.lockToken, completed("a", 2), turnFor("a", LOCK));
      assert.equal(r.applied, true);
      assert.deepEqual(await types(p, "a"), ["OrchestrationStarted", "ActivityScheduled", "ActivityCompleted", "ActivityScheduled"]);
    });
  });
}
