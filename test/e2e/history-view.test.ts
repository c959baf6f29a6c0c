// readExecutionHistory's event view, on every provider: `data` is JSON text in duroxide-node's JsEvent
// shape, with payloads embedded as values (not JSON strings inside JSON) and failures tagged by
// category the way the reference serialises ErrorDetails.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HistoryEventView, OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

function dataOf(events: HistoryEventView[], kind: string, nth = 0): unknown {
  const e = events.filter((x) => x.kind === kind)[nth];
  assert.ok(e, `an event of kind ${kind} (#${nth})`);
  assert.equal(typeof e.data, "string", `${kind} has data`);
  return JSON.parse(e.data!) as unknown;
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] readExecutionHistory event data`, () => {
    it("embeds payloads as values for every kind that carries one", async () => {
      const h = await harness((rt) => {
        rt.registerActivity("Shout", async (_ctx, x: { word: string }) => ({ loud: x.word.toUpperCase() }));
        rt.registerActivity("Refuse", async () => {
          throw new Error("no thanks");
        });
        rt.registerOrchestration("Child", async (_ctx: OrchestrationContext, n: number) => [n, n * 2]);
        rt.registerOrchestration("Tour", async (ctx: OrchestrationContext, input: { word: string; n: number }) => {
          const shouted = await ctx.scheduleActivity<{ loud: string }>("Shout", { word: input.word });
          let refused = "";
          try {
            await ctx.scheduleActivity("Refuse", null);
          } catch (err) {
            refused = (err as Error).message;
          }
          await ctx.scheduleTimer(1);
          const pair = await ctx.scheduleSubOrchestration<number[]>("Child", input.n);
          const ev = await ctx.waitForEvent<{ go: boolean }>("signal");
          return { shouted: shouted.loud, refused: refused.length > 0, pair, ev };
        });
      }, {}, kind);
      try {
        const c = h.client;
        await c.startOrchestration("tour-1", "Tour", { word: "hi", n: 4 });
        await waitForKind(c.readExecutionHistory.bind(c), "tour-1", "ExternalSubscribed");
        await c.raiseEvent("tour-1", "signal", { go: true });
        const done = await c.waitForOrchestration("tour-1", 10_000);
        assert.equal(done.status, "Completed");
        const events = await c.readExecutionHistory("tour-1", 1);

        assert.deepEqual(dataOf(events, "OrchestrationStarted"), { name: "Tour", version: "1.0.0", input: { word: "hi", n: 4 } });
        assert.deepEqual(dataOf(events, "ActivityScheduled", 0), { name: "Shout", input: { word: "hi" } });
        assert.deepEqual(dataOf(events, "ActivityScheduled", 1), { name: "Refuse", input: null });
        assert.deepEqual(dataOf(events, "ActivityCompleted"), { loud: "HI" });

        const failed = dataOf(events, "ActivityFailed") as { Application?: { kind: unknown; message: string; retryable: boolean } };
        assert.ok(failed.Application, "a failure is tagged with its category");
        assert.equal(failed.Application.kind, "ActivityFailed");
        assert.match(failed.Application.message, /no thanks/);
        assert.equal(typeof failed.Application.retryable, "boolean");

        const timer = dataOf(events, "TimerCreated") as { fireAtMs: number };
        assert.equal(typeof timer.fireAtMs, "number");
        assert.deepEqual(dataOf(events, "TimerFired"), timer);

        const sub = dataOf(events, "SubOrchestrationScheduled") as { name: string; instance: string; input: unknown };
        assert.equal(sub.name, "Child");
        assert.equal(typeof sub.instance, "string");
        assert.equal(sub.input, 4);
        assert.deepEqual(dataOf(events, "SubOrchestrationCompleted"), [4, 8]);

        assert.deepEqual(dataOf(events, "ExternalSubscribed"), { name: "signal" });
        assert.deepEqual(dataOf(events, "ExternalEvent"), { name: "signal", data: { go: true } });
        assert.deepEqual(dataOf(events, "OrchestrationCompleted"), { shouted: "HI", refused: true, pair: [4, 8], ev: { go: true } });
      } finally {
        await h.close();
      }
    });

    it("a failed or cancelled orchestration's event is tagged like the reference's ErrorDetails", async () => {
      const h = await harness((rt) => {
        rt.registerOrchestration("Breaks", async () => {
          throw new Error("broken on purpose");
        });
        rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => await ctx.waitForEvent("never"));
      }, {}, kind);
      try {
        const c = h.client;
        await c.startOrchestration("breaks-1", "Breaks", "text input");
        assert.equal((await c.waitForOrchestration("breaks-1", 10_000)).status, "Failed");
        const events = await c.readExecutionHistory("breaks-1", 1);
        assert.deepEqual(dataOf(events, "OrchestrationStarted"), { name: "Breaks", version: "1.0.0", input: "text input" });
        const failed = dataOf(events, "OrchestrationFailed") as { Application?: { kind: unknown; message: string } };
        assert.equal(failed.Application?.kind, "OrchestrationFailed");
        assert.match(failed.Application.message, /broken on purpose/);

        await c.startOrchestration("waits-1", "Waits");
        await waitForKind(c.readExecutionHistory.bind(c), "waits-1", "ExternalSubscribed");
        await c.cancelInstance("waits-1", "user asked");
        assert.equal((await c.waitForOrchestration("waits-1", 10_000)).status, "Failed");
        const cancelled = dataOf(await c.readExecutionHistory("waits-1", 1), "OrchestrationFailed") as {
          Application?: { kind: unknown };
        };
        assert.deepEqual(cancelled.Application?.kind, { Cancelled: { reason: "user asked" } });
      } finally {
        await h.close();
      }
    });
  });
}

async function waitForKind(
  read: (id: string, execution: number) => Promise<HistoryEventView[]>,
  id: string,
  kind: string,
): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if ((await read(id, 1).catch(() => [])).some((e) => e.kind === kind)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`no ${kind} event in ${id}'s history`);
}
