// Provider conformance: a start that stores the new instance's first turn with its creation
// (`Provider.createInstanceWithTurn`). Optional for a provider; with `startTurns: true` it promises
// to implement it. Applied, it must store what createInstance + fetch + ack would have stored;
// refused, it must do exactly what createInstance does (reject when the id is taken, else queue
// the start) and keep nothing of the turn.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { InstanceAlreadyExistsError } from "../../model/errors.js";
import type { HistoryEvent } from "../../model/events.js";
import { ack, activityItem, event, external, fetchFor, started, startItem, timerFired } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";
import type { OrchestrationAck, Provider, StartTurn, StartTurnResult } from "../provider.js";
import type { WorkItemOf } from "../../model/workItems.js";

/** The first turn of `instance`: started, activities 2 and 3 scheduled (2 leased to the caller), a timer 4 far out, KV and custom status set. */
function firstTurn(instance: string, lockMs: number, startedAt = Date.now()): OrchestrationAck {
  const at = (eventId: number, kind: Parameters<typeof event>[3]): HistoryEvent => ({ ...event(instance, 1, eventId, kind), timestampMs: startedAt });
  return ack(1, {
    historyDelta: [
      { ...started(instance), timestampMs: startedAt },
      at(2, { type: "ActivityScheduled", name: "Act", input: '"input-2"' }),
      at(3, { type: "ActivityScheduled", name: "Act", input: '"input-3"' }),
      at(4, { type: "TimerCreated", fireAtMs: startedAt + 3_600_000 }),
      at(5, { type: "KeyValueSet", key: "k", value: '"v"', lastUpdatedAtMs: startedAt }),
      at(6, { type: "CustomStatusUpdated", status: '"first"' }),
    ],
    workerItems: [activityItem(instance, 2), activityItem(instance, 3)],
    orchestratorItems: [timerFired(instance, 4, startedAt + 3_600_000)],
    leaseWorkerItems: { indexes: [0], lockTimeoutMs: lockMs },
  });
}

/** Everything a store shows of an instance, without times. */
async function stored(p: Provider, instance: string): Promise<unknown> {
  const history = (await p.read(instance)).map((e) => ({ ...e, timestampMs: 0 }));
  const status = await p.getStatus(instance);
  const kv = await p.getKvAllValues(instance);
  const info = p.admin ? await p.admin.getInstanceInfo(instance) : null;
  return {
    history,
    status,
    kv,
    info: info && { ...info, createdAt: 0, updatedAt: 0 },
  };
}

export function registerStartTurns({ test, LOCK }: SuiteContext, exact: boolean): void {
  /** The provider's createInstanceWithTurn, or null (then the test checks that it was not promised). */
  const withTurn = (p: Provider): ((item: WorkItemOf<"StartOrchestration">, turn: StartTurn) => Promise<StartTurnResult>) | null => {
    const f = p.createInstanceWithTurn?.bind(p);
    if (f === undefined) assert.equal(exact, false, "the provider promised createInstanceWithTurn");
    return f ?? null;
  };

  describe("starts that store the first turn with the creation", () => {
    test("a new instance: created with its first turn in one write, the start never queued, activities leased as an ack leases them", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      const r = await create(startItem("a"), { ack: firstTurn("a", LOCK) });
      assert.equal(r.applied, true);
      if (!r.applied) return;
      assert.deepEqual(
        (await p.read("a")).map((e) => e.type),
        ["OrchestrationStarted", "ActivityScheduled", "ActivityScheduled", "TimerCreated", "KeyValueSet", "CustomStatusUpdated"],
      );
      const s = await p.getStatus("a");
      assert.equal(s?.status, "Running");
      assert.equal(s?.orchestrationName, "TestOrch");
      assert.equal(s?.executionId, 1);
      assert.equal(s?.customStatus, '"first"');
      assert.equal(await p.getKvValue("a", "k"), '"v"');
      // The start was consumed by the turn; the timer waits; activity 2 is leased to us, 3 is fetchable.
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.equal(r.leases.length, 1);
      assert.equal(r.leases[0]!.item.id, 2);
      assert.equal(r.leases[0]!.attemptCount, 1);
      const other = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(other?.item.id, 3);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      // The lease works as any lease: its completion is the instance's next turn.
      await p.ackWorkItem(r.leases[0]!.lockToken, { type: "ActivityCompleted", instance: "a", executionId: 1, id: 2, result: '"ok"' });
      const next = await fetchFor(p, "a");
      assert.deepEqual(next.messages, [{ type: "ActivityCompleted", instance: "a", executionId: 1, id: 2, result: '"ok"' }]);
      assert.equal(next.executionId, 1);
      assert.equal(next.history.length, 6);
      // The id is taken now, for both kinds of start.
      await assert.rejects(p.createInstance(startItem("a")), InstanceAlreadyExistsError);
      await assert.rejects(create(startItem("a"), { ack: firstTurn("a", LOCK) }), InstanceAlreadyExistsError);
    });

    test("a turn that completes the instance at once stores its status and output", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      const r = await create(startItem("a"), {
        ack: ack(1, {
          historyDelta: [started("a"), event("a", 1, 2, { type: "OrchestrationCompleted", output: '"done"' })],
          metadata: { status: "Completed", output: '"done"' },
        }),
      });
      assert.equal(r.applied, true);
      const s = await p.getStatus("a");
      assert.equal(s?.status, "Completed");
      assert.equal(s?.output, '"done"');
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("the instance exists: rejected as createInstance rejects, nothing of the turn written", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      await p.createInstance(startItem("a"));
      const item = await fetchFor(p, "a");
      await p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [started("a")] }));
      const before = await stored(p, "a");
      await assert.rejects(create(startItem("a"), { ack: firstTurn("a", LOCK) }), InstanceAlreadyExistsError);
      assert.deepEqual(await stored(p, "a"), before);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("a start for the id is queued: rejected as createInstance rejects, the queued start stays the only one", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      await p.createInstance(startItem("a"));
      await assert.rejects(create(startItem("a"), { ack: firstTurn("a", LOCK) }), InstanceAlreadyExistsError);
      assert.equal(await p.getStatus("a"), null);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.messages, [startItem("a")]);
      assert.equal(item.history.length, 0);
    });

    test("a message for the id is visible already: the start is queued as createInstance queues it, nothing of the turn written", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      await p.enqueueForOrchestrator(external("a"));
      const r = await create(startItem("a"), { ack: firstTurn("a", LOCK) });
      assert.equal(r.applied, false);
      assert.equal(await p.getStatus("a"), null);
      assert.deepEqual(await p.read("a"), []);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      // The first fetched turn gets both, in arrival order; a second start is refused.
      const item = await fetchFor(p, "a");
      assert.deepEqual(item.messages, [external("a"), startItem("a")]);
      await p.abandonOrchestrationItem(item.lockToken);
      await assert.rejects(p.createInstance(startItem("a")), InstanceAlreadyExistsError);
    });

    test("stores what createInstance, a fetch and the same ack store", async (p) => {
      const create = withTurn(p);
      if (create === null) return;
      const at = Date.now();
      const r = await create(startItem("a"), { ack: firstTurn("a", LOCK, at) });
      assert.equal(r.applied, true);
      await p.createInstance(startItem("b"));
      const item = await fetchFor(p, "b");
      await p.ackOrchestrationItem(item.lockToken, firstTurn("b", LOCK, at));
      const rename = (x: unknown): unknown => JSON.parse(JSON.stringify(x).replaceAll('"b"', '"a"')) as unknown;
      assert.deepEqual(await stored(p, "a"), rename(await stored(p, "b")));
      // The same work is waiting: one fetchable activity each besides the leased ones, no message.
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      const leased = await p.fetchWorkItems?.(10, LOCK, NO_TAGS);
      if (leased !== undefined) assert.deepEqual(leased.map((l) => `${l.item.instance}:${l.item.id}`).sort(), ["a:3", "b:3"]);
    });
  });
}
