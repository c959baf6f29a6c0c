// Provider conformance: peek-lock of instances: exclusivity, expiry, renewal, abandon.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { ack, bootstrap, completed, event, external, fetchFor, sleep, startItem } from "./fixtures.js";
import { isPermanentProviderError, type SuiteContext } from "./harness.js";

export function registerOrchestrationLocks({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  describe("orchestration locks", () => {
    test("invalid tokens are rejected by ack, abandon and renew", async (p) => {
      await bootstrap(p, "a");
      await assert.rejects(p.ackOrchestrationItem("no-such-token", ack(1)), isPermanentProviderError(/lock/i));
      await assert.rejects(p.abandonOrchestrationItem("no-such-token"), isPermanentProviderError(/lock/i));
      await assert.rejects(p.renewOrchestrationItemLock("no-such-token", LOCK), isPermanentProviderError(/lock/i));
    });

    test("an instance is held by one fetcher at a time; tokens are unique", async (p) => {
      for (const id of ["a", "b", "c"]) await p.createInstance(startItem(id));
      const items = await Promise.all([1, 2, 3, 4, 5].map(() => p.fetchOrchestrationItem(LOCK)));
      const got = items.filter((i) => i !== null);
      assert.equal(got.length, 3);
      assert.deepEqual(new Set(got.map((i) => i.instance)), new Set(["a", "b", "c"]));
      assert.equal(new Set(got.map((i) => i.lockToken)).size, 3);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("a lock on one instance does not block another", async (p) => {
      await p.createInstance(startItem("a"));
      const a = await p.fetchOrchestrationItem(LOCK);
      assert.equal(a?.instance, "a");
      await p.createInstance(startItem("b"));
      await p.enqueueForOrchestrator(external("a"));
      const b = await p.fetchOrchestrationItem(LOCK);
      assert.equal(b?.instance, "b");
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("messages arriving during a lock are not in the batch and survive the ack", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a", "first"));
      const item = await fetchFor(p, "a");
      assert.equal(item.messages.length, 1);
      await p.enqueueForOrchestrator(external("a", "late"));
      assert.equal(await p.fetchOrchestrationItem(LOCK), null, "locked instance must not be fetchable");
      await p.ackOrchestrationItem(
        item.lockToken,
        ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "first", data: "1" })] }),
      );
      const next = await fetchFor(p, "a");
      assert.deepEqual(
        next.messages.map((m) => (m.type === "ExternalRaised" ? m.name : m.type)),
        ["late"],
      );
      assert.equal(next.attemptCount, 1);
    });

    test("a batch holds all visible messages of the instance in arrival order", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a", "e1"));
      await p.enqueueForOrchestrator(completed("a", 2));
      await p.enqueueForOrchestrator(external("a", "e2"));
      const item = await fetchFor(p, "a");
      assert.deepEqual(
        item.messages.map((m) => m.type),
        ["ExternalRaised", "ActivityCompleted", "ExternalRaised"],
      );
    });

    test("an expired lock lets another fetch take the instance; the stale token fails", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const first = await p.fetchOrchestrationItem(SHORT);
      assert.ok(first);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await sleep(PAST);
      const second = await p.fetchOrchestrationItem(LOCK);
      assert.ok(second);
      assert.equal(second.instance, "a");
      assert.notEqual(second.lockToken, first.lockToken);
      assert.equal(second.attemptCount, 2);
      assert.equal(second.messages.length, 1);
      await assert.rejects(p.ackOrchestrationItem(first.lockToken, ack(1)), isPermanentProviderError(/lock/i));
      await p.ackOrchestrationItem(second.lockToken, ack(1));
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("an ack after the lock expired fails even if nobody refetched", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await p.fetchOrchestrationItem(SHORT);
      assert.ok(item);
      await sleep(PAST);
      await assert.rejects(
        p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] })),
        isPermanentProviderError(/lock/i),
      );
      assert.equal((await p.read("a")).length, 1);
    });

    test("renewal extends the lock; renewal after expiry or ack fails", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await p.fetchOrchestrationItem(SHORT);
      assert.ok(item);
      await p.renewOrchestrationItemLock(item.lockToken, SHORT * 4);
      await sleep(PAST);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null, "renewed lock must still hold");
      await p.ackOrchestrationItem(item.lockToken, ack(1));
      await assert.rejects(p.renewOrchestrationItemLock(item.lockToken, LOCK), isPermanentProviderError());

      await p.enqueueForOrchestrator(external("a"));
      const again = await p.fetchOrchestrationItem(SHORT);
      assert.ok(again);
      await sleep(PAST);
      await assert.rejects(p.renewOrchestrationItemLock(again.lockToken, LOCK), isPermanentProviderError());
    });

    test("abandon releases at once; with a delay the messages stay hidden until it passes", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      await p.abandonOrchestrationItem(item.lockToken);
      const again = await p.fetchOrchestrationItem(LOCK);
      assert.equal(again?.instance, "a");
      assert.equal(again?.attemptCount, 2);
      await p.abandonOrchestrationItem(again!.lockToken, SHORT);
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      await sleep(PAST);
      const third = await p.fetchOrchestrationItem(LOCK);
      assert.equal(third?.instance, "a");
      assert.equal(third?.attemptCount, 3);
      await assert.rejects(p.abandonOrchestrationItem(item.lockToken), isPermanentProviderError());
    });

    test("abandon with ignoreAttempt does not count the attempt and never goes negative", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      for (let i = 0; i < 3; i++) {
        const item = await fetchFor(p, "a");
        assert.equal(item.attemptCount, 1);
        await p.abandonOrchestrationItem(item.lockToken, 0, true);
      }
      const item = await fetchFor(p, "a");
      await p.abandonOrchestrationItem(item.lockToken);
      assert.equal((await fetchFor(p, "a")).attemptCount, 2);
    });

    test("attempt count is the max over the batch", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a", "old"));
      for (let i = 0; i < 2; i++) await p.abandonOrchestrationItem((await fetchFor(p, "a")).lockToken);
      await p.enqueueForOrchestrator(external("a", "new"));
      const item = await fetchFor(p, "a");
      assert.equal(item.messages.length, 2);
      assert.equal(item.attemptCount, 3);
      await p.ackOrchestrationItem(item.lockToken, ack(1));
      await p.enqueueForOrchestrator(external("a", "fresh"));
      assert.equal((await fetchFor(p, "a")).attemptCount, 1, "attempts are per message");
    });

    test("two acks with the same token cannot both succeed", async (p) => {
      await bootstrap(p, "a");
      await p.enqueueForOrchestrator(external("a"));
      const item = await fetchFor(p, "a");
      const results = await Promise.allSettled([
        p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "x", data: "1" })] })),
        p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 3, { type: "ExternalEvent", name: "y", data: "1" })] })),
      ]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      assert.equal((await p.read("a")).length, 2);
    });
  });
}
