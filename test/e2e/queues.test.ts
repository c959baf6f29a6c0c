import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InstanceNotFoundError, type OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

for (const replayEveryTurn of [false, true]) {
  describe(`[${kind}] event queues (replayEveryTurn=${replayEveryTurn})`, () => {
    it("FIFO per queue; messages enqueued before the dequeue are buffered", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async () => {
            await new Promise((r) => setTimeout(r, 60));
            return null;
          });
          rt.registerOrchestration("Reader", async (ctx: OrchestrationContext) => {
            await ctx.scheduleActivity("Slow");
            const out: unknown[] = [];
            for (let i = 0; i < 3; i++) out.push(await ctx.dequeueEvent("inbox"));
            out.push(await ctx.dequeueEventTyped<{ other: number }>("other"));
            return out;
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("q1", "Reader");
        await h.client.enqueueEvent("q1", "inbox", "a");
        await h.client.enqueueEvent("q1", "other", { other: 1 });
        await h.client.enqueueEvent("q1", "inbox", { b: 2 });
        await h.client.enqueueEventTyped("q1", "inbox", 3);
        const r = await h.client.waitForOrchestration("q1", 5_000);
        assert.deepEqual(r.output, ["a", { b: 2 }, 3, { other: 1 }]);
      } finally {
        await h.close();
      }
    });

    it("unconsumed messages are carried across continue-as-new, in order", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async () => {
            await new Promise((r) => setTimeout(r, 80));
            return null;
          });
          rt.registerOrchestration("Chat", async (ctx: OrchestrationContext, seen: string[]) => {
            const m = await ctx.dequeueEvent<string>("msgs");
            const all = [...seen, m];
            if (all.length === 4) return { all, execution: ctx.executionId };
            await ctx.scheduleActivity("Slow"); // the rest arrive meanwhile and stay unconsumed
            return ctx.continueAsNew(all);
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("c1", "Chat", []);
        for (const m of ["m1", "m2", "m3", "m4"]) await h.client.enqueueEvent("c1", "msgs", m);
        const r = await h.client.waitForOrchestration("c1", 5_000);
        assert.deepEqual(r.output, { all: ["m1", "m2", "m3", "m4"], execution: 4 });
        const second = await h.client.readHistory("c1", 2);
        const started = second[0] as { type: string; carryForwardEvents?: Array<[string, string]> };
        assert.equal(started.type, "OrchestrationStarted");
        assert.deepEqual(started.carryForwardEvents, [
          ["msgs", '"m2"'],
          ["msgs", '"m3"'],
          ["msgs", '"m4"'],
        ]);
      } finally {
        await h.close();
      }
    });

    it("a cancelled dequeue (race loser) consumes nothing", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Loser", async (ctx: OrchestrationContext) => {
            const first = await ctx.race(ctx.dequeueEvent("q"), ctx.scheduleTimer(30));
            // two dequeues race: the one on "b" wins, the one on "a" is withdrawn
            ctx.setCustomStatus("ready");
            const second = await ctx.race(ctx.dequeueEvent("a"), ctx.dequeueEvent("b"));
            const a = await ctx.dequeueEvent("a");
            const q = await ctx.dequeueEvent("q");
            return { first: first.index, second, a, q };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("l1", "Loser");
        await h.client.waitForStatusChange("l1", 0, 10, 5_000);
        await h.client.enqueueEvent("l1", "b", "b1");
        await new Promise((r) => setTimeout(r, 50));
        await h.client.enqueueEvent("l1", "a", "a1");
        await h.client.enqueueEvent("l1", "q", "q1");
        const r = await h.client.waitForOrchestration("l1", 5_000);
        assert.deepEqual(r.output, { first: 1, second: { index: 1, value: "b1" }, a: "a1", q: "q1" });
        const hist = await h.client.readHistory("l1");
        assert.equal(hist.filter((e) => e.type === "QueueSubscriptionCancelled").length, 2);
      } finally {
        await h.close();
      }
    });

    it("unknown instances: the client rejects; an orphan message is dropped and never blocks others", async () => {
      const h = await harness((rt) => {
        rt.registerOrchestration("Echo", async (ctx: OrchestrationContext) => ctx.dequeueEvent("q"));
      }, {}, kind);
      try {
        await assert.rejects(h.client.enqueueEvent("ghost", "q", 1), InstanceNotFoundError);
        // A message that reached the queue for an instance that never starts (e.g. deleted meanwhile).
        await h.provider.enqueueForOrchestrator({ type: "QueueMessage", instance: "ghost", name: "q", data: '"boo"' });
        for (let i = 0; i < 3; i++) {
          await h.client.startOrchestration(`e${i}`, "Echo");
          await h.client.enqueueEvent(`e${i}`, "q", i);
        }
        for (let i = 0; i < 3; i++) assert.equal((await h.client.waitForOrchestration(`e${i}`, 5_000)).output, i);
        assert.equal((await h.client.getStatus("ghost")).status, "NotFound");
        assert.equal((await h.client.getQueueDepths()).orchestratorQueue, 0, "the orphan was dropped");
        // Enqueue to a started instance is accepted even before its first turn ran (its start is queued).
        await h.client.startOrchestration("early", "Echo");
        await h.client.enqueueEvent("early", "q", "first");
        assert.equal((await h.client.waitForOrchestration("early", 5_000)).output, "first");
      } finally {
        await h.close();
      }
    });
  });
}

}
