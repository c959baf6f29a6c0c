// Provider conformance: the optional batch fetches (`fetchOrchestrationItems`, `fetchWorkItems`).
// Each item of a batch must be exactly what a single fetch would have returned for it: its own
// lock token, its own messages, its history (or none of it when the caller holds it), its attempt
// count; sessions, tag filters and lease lengths as single fetches apply them. With `batchFetch:
// true` the provider promises both; without, these tests run only for the ones it has.
import { describe } from "node:test";
import assert from "node:assert/strict";

import type { FetchWorkOptions, OrchestrationItem, Provider, WorkItemLease } from "../provider.js";
import { ack, activityItem, bootstrap, completed, external, sleep, started, startItem } from "./fixtures.js";
import { ANY, NO_TAGS, type SuiteContext } from "./harness.js";

type OrchBatch = NonNullable<Provider["fetchOrchestrationItems"]>;
type WorkBatch = NonNullable<Provider["fetchWorkItems"]>;

function orchBatch(p: Provider, required: boolean): OrchBatch | null {
  if (p.fetchOrchestrationItems === undefined) {
    assert.ok(!required, "the provider must have fetchOrchestrationItems");
    return null;
  }
  return p.fetchOrchestrationItems.bind(p);
}

function workBatch(p: Provider, required: boolean): WorkBatch | null {
  if (p.fetchWorkItems === undefined) {
    assert.ok(!required, "the provider must have fetchWorkItems");
    return null;
  }
  return p.fetchWorkItems.bind(p);
}

const byInstance = (items: OrchestrationItem[]): Map<string, OrchestrationItem> => new Map(items.map((i) => [i.instance, i]));
const ids = (leases: WorkItemLease[]): number[] => leases.map((l) => l.item.id).sort((a, b) => a - b);

export function registerBatchFetch({ test, LOCK, SHORT, PAST }: SuiteContext, required: boolean): void {
  describe("batch fetch", () => {
    test("orchestrator: several instances, each locked on its own with its own token and messages", async (p) => {
      const fetchMany = orchBatch(p, required);
      if (!fetchMany) return;
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a", "e1"));
      await p.enqueueForOrchestrator(external("a", "e2"));
      await p.createInstance(startItem("b"));
      await p.enqueueForOrchestrator(external("b", "x"));
      await p.createInstance(startItem("c"));

      const items = await fetchMany(10, LOCK);
      assert.equal(items.length, 3);
      const got = byInstance(items);
      assert.equal(got.size, 3, "no instance twice");
      assert.equal(new Set(items.map((i) => i.lockToken)).size, 3, "one lock token per instance");
      assert.deepEqual(got.get("a")?.messages, [external("a", "e1"), external("a", "e2")]);
      assert.deepEqual(got.get("a")?.history.map((e) => e.type), ["OrchestrationStarted"]);
      assert.equal(got.get("a")?.orchestrationName, "TestOrch");
      assert.deepEqual(got.get("b")?.messages, [startItem("b"), external("b", "x")]);
      assert.equal(got.get("b")?.orchestrationName, null);
      assert.deepEqual(got.get("c")?.messages, [startItem("c")]);
      for (const i of items) assert.equal(i.attemptCount, 1);
      assert.equal(items[items.length - 1]?.moreReady, false, "nothing else was ready");

      // Every instance is locked: nothing more to fetch, singly or in a batch.
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      assert.deepEqual(await fetchMany(10, LOCK), []);

      // Each lock is released on its own: ack a, abandon b, keep c.
      await p.ackOrchestrationItem(got.get("a")!.lockToken, ack(1, { historyDelta: [started("a", 1, 2)] }));
      await p.abandonOrchestrationItem(got.get("b")!.lockToken);
      const again = await fetchMany(10, LOCK);
      assert.deepEqual(again.map((i) => i.instance), ["b"]);
      assert.equal(again[0]?.attemptCount, 2, "abandoned messages count their attempt");
      // c's token still holds its lock.
      await p.renewOrchestrationItemLock(got.get("c")!.lockToken, LOCK);
      await p.ackOrchestrationItem(got.get("c")!.lockToken, ack(1, { historyDelta: [started("c")] }));
      assert.equal((await p.getStatus("c"))?.status, "Running");
    });

    test("orchestrator: the limit holds and no instance is returned twice", async (p) => {
      const fetchMany = orchBatch(p, required);
      if (!fetchMany) return;
      for (const i of ["i1", "i2", "i3", "i4", "i5"]) await p.createInstance(startItem(i));
      const first = await fetchMany(2, LOCK);
      assert.equal(first.length, 2);
      assert.notEqual(first[1]?.moreReady, false, "three more are ready");
      const second = await fetchMany(2, LOCK);
      assert.equal(second.length, 2);
      const third = await fetchMany(5, LOCK);
      assert.equal(third.length, 1);
      assert.equal(third[0]?.moreReady, false);
      const all = [...first, ...second, ...third].map((i) => i.instance).sort();
      assert.deepEqual(all, ["i1", "i2", "i3", "i4", "i5"]);
      assert.deepEqual(await fetchMany(5, LOCK), []);
    });

    test("orchestrator: history the caller holds is left out, per instance", async (p) => {
      const fetchMany = orchBatch(p, required);
      if (!fetchMany) return;
      await bootstrap(p, "held");
      await bootstrap(p, "notHeld");
      await p.enqueueForOrchestrator(external("held"));
      await p.enqueueForOrchestrator(external("notHeld"));
      const knownHistory = new Map([
        ["held", { executionId: 1, lastEventId: 1 }],
        // Behind what is stored: the whole history comes back.
        ["notHeld", { executionId: 1, lastEventId: 0 }],
      ]);
      const got = byInstance(await fetchMany(5, LOCK, { knownHistory }));
      assert.equal(got.size, 2);
      assert.equal(got.get("held")?.historyAfterEventId, 1);
      assert.deepEqual(got.get("held")?.history, []);
      assert.equal(got.get("notHeld")?.historyAfterEventId, 0);
      assert.deepEqual(got.get("notHeld")?.history.map((e) => e.eventId), [1]);
    });

    test("orchestrator: an empty queue gives an empty batch", async (p) => {
      const fetchMany = orchBatch(p, required);
      if (!fetchMany) return;
      assert.deepEqual(await fetchMany(8, LOCK), []);
      // A message not yet visible is not ready either.
      await bootstrap(p, "later");
      await p.enqueueForOrchestrator(external("later"), { delayMs: 60_000 });
      assert.deepEqual(await fetchMany(8, LOCK), []);
    });

    test("orchestrator: an expired lock makes the instance fetchable again", async (p) => {
      const fetchMany = orchBatch(p, required);
      if (!fetchMany) return;
      await p.createInstance(startItem("x"));
      await p.createInstance(startItem("y"));
      const items = await fetchMany(5, SHORT);
      assert.equal(items.length, 2);
      await sleep(PAST);
      const again = await fetchMany(5, LOCK);
      assert.deepEqual(again.map((i) => i.instance).sort(), ["x", "y"]);
      for (const i of again) assert.equal(i.attemptCount, 2);
      // The old tokens are dead.
      await assert.rejects(p.ackOrchestrationItem(items[0]!.lockToken, ack(1, { historyDelta: [started(items[0]!.instance)] })));
    });

    test("worker: several items, each leased on its own", async (p) => {
      const fetchMany = workBatch(p, required);
      if (!fetchMany) return;
      for (let i = 1; i <= 4; i++) await p.enqueueForWorker(activityItem("a", i));
      const leases = await fetchMany(3, LOCK, NO_TAGS);
      assert.deepEqual(ids(leases), [1, 2, 3], "the oldest, up to the limit");
      assert.equal(new Set(leases.map((l) => l.lockToken)).size, 3);
      for (const l of leases) {
        assert.equal(l.attemptCount, 1);
        assert.notEqual(l.lapsed, true);
        assert.deepEqual(l.item, activityItem("a", l.item.id));
      }
      assert.notEqual(leases[2]?.moreReady, false, "item 4 is ready");
      const rest = await fetchMany(3, LOCK, NO_TAGS);
      assert.deepEqual(ids(rest), [4]);
      assert.equal(rest[0]?.moreReady, false);
      assert.deepEqual(await fetchMany(3, LOCK, NO_TAGS), []);

      // Acked and abandoned one by one.
      await p.ackWorkItem(leases[0]!.lockToken, completed("a", leases[0]!.item.id));
      await p.abandonWorkItem(leases[1]!.lockToken);
      const back = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.equal(back?.item.id, leases[1]!.item.id);
      assert.equal(back?.attemptCount, 2);
      await p.renewWorkItemLock(leases[2]!.lockToken, LOCK);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("worker: tag filters apply as in a single fetch", async (p) => {
      const fetchMany = workBatch(p, required);
      if (!fetchMany) return;
      await p.enqueueForWorker(activityItem("a", 1));
      await p.enqueueForWorker(activityItem("a", 2, { tag: "gpu" }));
      await p.enqueueForWorker(activityItem("a", 3, { tag: "cpu" }));
      await p.enqueueForWorker(activityItem("a", 4, { tag: "gpu" }));
      assert.deepEqual(ids(await fetchMany(10, LOCK, { tagFilter: { kind: "tags", tags: ["gpu"] } })), [2, 4]);
      assert.deepEqual(ids(await fetchMany(10, LOCK, { tagFilter: { kind: "none" } })), []);
      assert.deepEqual(ids(await fetchMany(10, LOCK, { tagFilter: { kind: "defaultAnd", tags: ["cpu"] } })), [1, 3]);
      assert.deepEqual(await fetchMany(10, LOCK, ANY), []);
    });

    test("worker: sessions are claimed and honoured as in a single fetch", async (p) => {
      const fetchMany = workBatch(p, required);
      if (!fetchMany) return;
      const sess = (ownerId: string): FetchWorkOptions => ({ tagFilter: { kind: "defaultOnly" }, session: { ownerId, lockTimeoutMs: LOCK } });
      await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
      await p.enqueueForWorker(activityItem("a", 3, { sessionId: "s2" }));
      await p.enqueueForWorker(activityItem("a", 4));
      // Without a session config only the plain item.
      const plain = await fetchMany(10, LOCK, NO_TAGS);
      assert.deepEqual(ids(plain), [4]);
      // w1 takes one item of s1 alone: s1 is then w1's.
      const one = await fetchMany(1, LOCK, sess("w1"));
      assert.deepEqual(ids(one), [1]);
      // w2 gets s2, never s1's second item.
      assert.deepEqual(ids(await fetchMany(10, LOCK, sess("w2"))), [3]);
      assert.deepEqual(await fetchMany(10, LOCK, sess("w2")), []);
      // The owner gets its session's next item.
      assert.deepEqual(ids(await fetchMany(10, LOCK, sess("w1"))), [2]);

      // Several items of one new session in one batch: all to the one owner.
      await p.enqueueForWorker(activityItem("b", 1, { sessionId: "s3" }));
      await p.enqueueForWorker(activityItem("b", 2, { sessionId: "s3" }));
      const both = await fetchMany(10, LOCK, sess("w3"));
      assert.deepEqual(both.map((l) => l.item.instance + l.item.id), ["b1", "b2"]);
      await p.enqueueForWorker(activityItem("b", 3, { sessionId: "s3" }));
      assert.deepEqual(await fetchMany(10, LOCK, sess("w1")), [], "s3 is w3's");
    });

    test("worker: a heartbeating item is leased for its heartbeat timeout; a lapsed lease says so", async (p) => {
      const fetchMany = workBatch(p, required);
      if (!fetchMany) return;
      await p.enqueueForWorker({ ...activityItem("a", 1), heartbeatTimeoutMs: SHORT });
      await p.enqueueForWorker(activityItem("a", 2));
      const leases = await fetchMany(5, LOCK, NO_TAGS);
      assert.deepEqual(ids(leases), [1, 2]);
      await sleep(PAST);
      // Only the heartbeating item's lease lapsed.
      const again = await fetchMany(5, LOCK, NO_TAGS);
      assert.deepEqual(ids(again), [1]);
      assert.equal(again[0]?.attemptCount, 2);
      assert.equal(again[0]?.lapsed, true);
      await p.renewWorkItemLock(leases.find((l) => l.item.id === 2)!.lockToken, LOCK);
    });

    test("worker: an empty queue gives an empty batch", async (p) => {
      const fetchMany = workBatch(p, required);
      if (!fetchMany) return;
      assert.deepEqual(await fetchMany(8, LOCK, ANY), []);
    });
  });
}
