// `duroxide dead-letters` through the real bin: list (table and --json), retry a readable one back
// onto its queue (a runtime then runs it), refuse to retry an unreadable one, discard, exit codes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { encodeWorkItem } from "../../src/providers/codec.js";
import { plantDeadLetter } from "../e2e/rawStore.js";
import { duroxide, parseJson } from "./cliRunner.js";
import { emptyStore, STORE_KINDS, type TestStore } from "./stores.js";

interface Listing {
  items: { id: number; instanceId: string | null; item: unknown; error: string }[];
  next: number | null;
}

for (const kind of STORE_KINDS) {
  describe(`[${kind}] duroxide dead-letters`, () => {
    let store: TestStore;
    const cli = (...args: string[]) => duroxide([...store.args, ...args]);
    before(async () => {
      store = await emptyStore(kind);
      const p = await store.open();
      try {
        const start = { type: "StartOrchestration" as const, instance: "dl-cli", orchestration: "Hello", input: '"cli"', version: null, parent: null, executionId: 1 };
        await plantDeadLetter(p, "dl-cli", encodeWorkItem(start), "set aside for the test");
        await plantDeadLetter(p, "dl-bad", "{not json", "unreadable work item");
      } finally {
        await p.close();
      }
    });
    after(async () => store.destroy());

    it("lists, retries, refuses an unreadable retry, discards", async () => {
      const table = await cli("dead-letters");
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /dl-cli/);
      assert.match(table.stdout, /unreadable work item/);

      const listing = parseJson<Listing>(await cli("--json", "dead-letters", "list"));
      assert.equal(listing.items.length, 2);
      const [readable, unreadable] = listing.items;
      assert.equal(readable!.instanceId, "dl-cli");
      assert.equal(unreadable!.item, null);
      assert.equal(listing.next, unreadable!.id);
      assert.equal(parseJson<Listing>(await cli("--json", "dead-letters", "list", "--after", String(readable!.id))).items.length, 1);

      const bad = await cli("dead-letters", "retry", String(unreadable!.id));
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /cannot be read/);
      const missing = await cli("dead-letters", "retry", "999999");
      assert.equal(missing.code, 3, missing.stderr);

      const retried = await cli("dead-letters", "retry", String(readable!.id));
      assert.equal(retried.code, 0, retried.stderr);
      const p = await store.open();
      const rt = new Runtime(p, { dispatcherPollIntervalMs: 20, logLevel: "error" });
      rt.registerOrchestration("Hello", async (_ctx: OrchestrationContext, who: string) => `hi ${who}`);
      try {
        await rt.start();
        assert.equal((await rt.client.waitForOrchestration("dl-cli", 10_000)).output, "hi cli");
      } finally {
        await rt.shutdown(200);
        await p.close();
      }

      assert.equal((await cli("dead-letters", "discard", String(unreadable!.id))).code, 0);
      const again = await cli("dead-letters", "discard", String(unreadable!.id));
      assert.equal(again.code, 3, again.stderr);
      assert.deepEqual(parseJson<Listing>(await cli("--json", "dead-letters")).items, []);
    });
  });
}
