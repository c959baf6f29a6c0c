// Provider conformance: worker tag filters route activities.
import { describe } from "node:test";
import assert from "node:assert/strict";

import type { Provider } from "../provider.js";
import { activityItem, bootstrap } from "./fixtures.js";
import { NO_TAGS, type SuiteContext } from "./harness.js";

export function registerTagFilters({ test, LOCK }: SuiteContext): void {
  describe("tag filters", () => {
    async function seed(p: Provider): Promise<void> {
      await p.enqueueForWorker(activityItem("a", 1));
      await p.enqueueForWorker(activityItem("a", 2, { tag: "gpu" }));
      await p.enqueueForWorker(activityItem("a", 3, { tag: "cpu" }));
      await p.enqueueForWorker(activityItem("a", 4, { tag: "io" }));
    }
    async function drain(p: Provider, tagFilter: Parameters<Provider["fetchWorkItem"]>[1]["tagFilter"]): Promise<number[]> {
      const ids: number[] = [];
      for (;;) {
        const l = await p.fetchWorkItem(LOCK, { tagFilter });
        if (l === null) return ids;
        ids.push(l.item.id);
      }
    }

    test("defaultOnly fetches untagged items only", async (p) => {
      await seed(p);
      assert.deepEqual(await drain(p, { kind: "defaultOnly" }), [1]);
    });
    test("tags fetches only matching tags", async (p) => {
      await seed(p);
      assert.deepEqual(await drain(p, { kind: "tags", tags: ["gpu", "io"] }), [2, 4]);
    });
    test("defaultAnd fetches untagged plus matching", async (p) => {
      await seed(p);
      assert.deepEqual(await drain(p, { kind: "defaultAnd", tags: ["cpu"] }), [1, 3]);
    });
    test("any fetches everything; none fetches nothing", async (p) => {
      await seed(p);
      assert.equal(await p.fetchWorkItem(LOCK, { tagFilter: { kind: "none" } }), null);
      assert.deepEqual(await drain(p, { kind: "any" }), [1, 2, 3, 4]);
    });
    test("the tag survives the round trip, abandon and the ack path", async (p) => {
      await bootstrap(p, "a", { workerItems: [activityItem("a", 2, { tag: "gpu" })] });
      const l = await p.fetchWorkItem(LOCK, { tagFilter: { kind: "tags", tags: ["gpu"] } });
      assert.equal(l?.item.tag, "gpu");
      await p.abandonWorkItem(l!.lockToken);
      assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      const again = await p.fetchWorkItem(LOCK, { tagFilter: { kind: "tags", tags: ["gpu"] } });
      assert.deepEqual(again?.item, activityItem("a", 2, { tag: "gpu" }));
    });
  });
}
