// Dead letters through the management API: listed (readable ones with their message), retried
// (put back on their queue, then processed), discarded; an unreadable one cannot be retried.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError, type OrchestrationContext } from "../../src/index.js";
import { encodeWorkItem } from "../../src/providers/codec.js";
import { harness, PROVIDERS } from "./harness.js";
import { plantDeadLetter } from "./rawStore.js";

for (const kind of PROVIDERS) {
  describe(`dead letters (${kind})`, () => {
    it("list, retry and discard through the client", async () => {
      const h = await harness((rt) => rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, who: string) => `hi ${who}`), {}, kind);
      try {
        assert.deepEqual(await h.client.listDeadLetters(), []);
        const start = { type: "StartOrchestration" as const, instance: "dl-1", orchestration: "Hello", input: '"you"', version: null, parent: null, executionId: 1 };
        await plantDeadLetter(h.provider, "dl-1", encodeWorkItem(start), "set aside for the test");
        await plantDeadLetter(h.provider, "dl-2", "{not json", "unreadable work item");
        const listed = await h.client.listDeadLetters();
        assert.equal(listed.length, 2);
        const [readable, unreadable] = listed;
        assert.equal(readable!.instanceId, "dl-1");
        assert.deepEqual(readable!.item, start);
        assert.equal(readable!.error, "set aside for the test");
        assert.equal(unreadable!.item, null);
        assert.equal(unreadable!.payload, "{not json");
        assert.deepEqual(await h.client.listDeadLetters({ afterId: readable!.id }), [unreadable]);
        assert.equal((await h.client.listDeadLetters({ limit: 1 })).length, 1);

        await h.client.retryDeadLetter(readable!.id);
        assert.equal((await h.client.waitForOrchestration("dl-1", 10_000)).output, "hi you");
        await assert.rejects(h.client.retryDeadLetter(unreadable!.id), (e: unknown) => e instanceof InvalidArgumentError && e.code === "DeadLetterUnreadable");
        await assert.rejects(h.client.retryDeadLetter(999_999), (e: unknown) => e instanceof InvalidArgumentError && e.code === "DeadLetterNotFound");
        assert.equal(await h.client.discardDeadLetter(unreadable!.id), true);
        assert.equal(await h.client.discardDeadLetter(unreadable!.id), false);
        assert.deepEqual(await h.client.listDeadLetters(), []);
      } finally {
        await h.close();
      }
    });
  });
}
