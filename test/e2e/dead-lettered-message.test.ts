// A queued message that cannot be read is moved to the dead letters and ends its instance: the
// instance fails naming the dead letter (its id, the message's kind, why it could not be read),
// its parent hears of it, and the dead letter stays listed (nothing stored is lost).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError, Runtime, type OrchestrationContext, type Provider } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";
import { rawWrite } from "./rawStore.js";

/** Queues an unreadable message for `instance` straight into the store, as a damaged row would be. */
async function queueUnreadable(provider: Provider, instance: string, itemType: string): Promise<void> {
  await rawWrite(
    provider,
    "INSERT INTO orchestrator_queue (instance_id, work_item, item_type, visible_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    [instance, '{"type":"ExternalRaised","broken', itemType, Date.now(), Date.now()],
  );
}

async function untilRunning(client: { getStatus(id: string): Promise<{ status: string }> }, id: string): Promise<void> {
  for (let i = 0; (await client.getStatus(id)).status !== "Running"; i++) {
    assert.ok(i < 500, `${id} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of PROVIDERS) {
  describe(`dead-lettered message (${kind}): a process dies between the fetch that found it and its ack`, () => {
    it("the next runtime still ends the instance, and the dead letter is not duplicated", { timeout: 60_000 }, async () => {
      const waits = (rt: Runtime) => rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => ctx.waitForEvent("go"));
      const h = await harness(waits, {}, kind);
      try {
        await h.client.startOrchestration("crash-1", "Waits", null);
        await untilRunning(h.client, "crash-1");
        await h.runtime.shutdown(200);
        await queueUnreadable(h.provider, "crash-1", "ExternalRaised");
        // The "dying process": fetches (the message moves to the dead letters), never acks.
        const item = await h.provider.fetchOrchestrationItem(300);
        assert.equal(item?.instance, "crash-1");
        assert.equal(item.deadLettered?.length, 1);
        assert.equal((await h.client.getStatus("crash-1")).status, "Running");

        const next = new Runtime(h.provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
        waits(next);
        await next.start();
        try {
          const r = await h.client.waitForOrchestration("crash-1", 30_000);
          assert.equal(r.status, "Failed");
          const dead = await h.client.listDeadLetters();
          assert.equal(dead.length, 1, "one dead letter, however often it was reported");
          assert.match(String(r.error), new RegExp(`ExternalRaised ${item.deadLettered![0]!.messageId} could not be read .*dead letter ${dead[0]!.id}\\b`));
        } finally {
          await next.shutdown(200);
        }
      } finally {
        await h.close();
      }
    });
  });

  for (const cacheSize of [undefined, 0]) {
    const how = cacheSize === 0 ? "history replayed" : "live state cached";
    describe(`dead-lettered message (${kind}, ${how})`, () => {
      it("fails the instance naming the dead letter, tells the parent, keeps the dead letter", { timeout: 60_000 }, async () => {
        const h = await harness(
          (rt) => {
            rt.registerOrchestration("Child", async (ctx: OrchestrationContext) => ctx.waitForEvent("go"));
            rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => ctx.scheduleSubOrchestrationWithId("Child", "child-1", null));
          },
          cacheSize === undefined ? {} : { instanceCacheSize: cacheSize },
          kind,
        );
        try {
          await h.client.startOrchestration("parent-1", "Parent", null);
          await untilRunning(h.client, "child-1");
          await queueUnreadable(h.provider, "child-1", "ExternalRaised");

          const child = await h.client.waitForOrchestration("child-1", 30_000);
          assert.equal(child.status, "Failed", JSON.stringify(child));
          const dead = await h.client.listDeadLetters();
          assert.equal(dead.length, 1, "the message is kept as a dead letter");
          const dl = dead[0]!;
          assert.equal(dl.instanceId, "child-1");
          assert.equal(dl.item, null);
          const message = String(child.error);
          assert.match(message, /ExternalRaised/);
          assert.match(message, new RegExp(`dead letter ${dl.id}\\b`));
          assert.ok(message.includes(dl.error), `names why it could not be read: ${message}`);

          const parent = await h.client.waitForOrchestration("parent-1", 30_000);
          assert.equal(parent.status, "Failed", JSON.stringify(parent));
          assert.match(String(parent.error), new RegExp(`child-1 lost a queued message: ExternalRaised \\d+ could not be read`));

          // Still manageable: not retryable (unreadable), but can be discarded.
          await assert.rejects(h.client.retryDeadLetter(dl.id), (e: unknown) => e instanceof InvalidArgumentError && e.code === "DeadLetterUnreadable");
          assert.equal(await h.client.discardDeadLetter(dl.id), true);
        } finally {
          await h.close();
        }
      });

      it("ends a root instance whose only pending message is unreadable", { timeout: 60_000 }, async () => {
        const h = await harness(
          (rt) => rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => ctx.waitForEvent("go")),
          cacheSize === undefined ? {} : { instanceCacheSize: cacheSize },
          kind,
        );
        try {
          await h.client.startOrchestration("root-1", "Waits", null);
          await untilRunning(h.client, "root-1");
          await queueUnreadable(h.provider, "root-1", "ExternalRaised");
          const root = await h.client.waitForOrchestration("root-1", 30_000);
          assert.equal(root.status, "Failed");
          assert.match(String(root.error), /poison: orchestration root-1 lost a queued message: ExternalRaised \d+ could not be read \(.+\); it is kept as dead letter \d+/);
          const history = await h.client.readHistory("root-1");
          assert.equal(history.at(-1)?.type, "OrchestrationFailed");
          assert.deepEqual(history.map((e) => e.eventId), history.map((_, i) => i + 1), "event ids stay contiguous");
          assert.equal((await h.client.listDeadLetters()).length, 1);
        } finally {
          await h.close();
        }
      });
    });
  }
}
