// Provider conformance: the `moreReady` hint of a fetch. It is optional, but a provider that gives
// it must never say false while something else was ready (a fetch loop would sleep on ready work).
// With `drainHints: true` the provider promises to give it on every fetch, and it is checked exactly.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { activityItem, startItem } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";

function check(hint: boolean | undefined, expected: boolean, exact: boolean, what: string): void {
  if (hint === undefined && !exact) return;
  if (expected) assert.notEqual(hint, false, `${what}: moreReady must not be false while more is ready`);
  if (exact) assert.equal(hint, expected, `${what}: moreReady`);
}

export function registerDrainHints({ test, LOCK }: SuiteContext, exact: boolean): void {
  describe("drain hints (moreReady)", () => {
    test("worker fetch: more ready until the last ready item is taken", async (p) => {
      for (let i = 1; i <= 3; i++) await p.enqueueForWorker(activityItem("a", i));
      for (let i = 1; i <= 3; i++) {
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.ok(lease);
        check(lease.moreReady, i < 3, exact, `lease ${i} of 3`);
      }
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
    });

    test("worker fetch: items the caller may not take do not count as ready", async (p) => {
      await p.enqueueForWorker(activityItem("a", 1));
      await p.enqueueForWorker({ ...activityItem("a", 2), tag: "gpu" });
      const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
      assert.ok(lease);
      assert.equal(lease.item.id, 1);
      check(lease.moreReady, false, exact, "only a tagged item is left");
    });

    test("orchestrator fetch: more ready until the last ready instance is taken", async (p) => {
      await p.createInstance(startItem("a"));
      await p.createInstance(startItem("b"));
      const first = await p.fetchOrchestrationItem(LOCK);
      assert.ok(first);
      check(first.moreReady, true, exact, "first of two instances");
      const second = await p.fetchOrchestrationItem(LOCK);
      assert.ok(second);
      check(second.moreReady, false, exact, "second of two instances");
      assert.equal(await p.fetchOrchestrationItem(LOCK), null);
    });

    test("orchestrator fetch: a locked instance's new messages do not count as ready", async (p) => {
      await p.createInstance(startItem("a"));
      const item = await p.fetchOrchestrationItem(LOCK);
      assert.ok(item);
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "a", name: "e", data: "1" });
      await p.createInstance(startItem("b"));
      const b = await p.fetchOrchestrationItem(LOCK);
      assert.ok(b);
      assert.equal(b.instance, "b");
      check(b.moreReady, false, exact, "only the locked instance has messages");
    });
  });
}
