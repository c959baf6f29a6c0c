// replayHistory and client.exportHistory on real stores: a history replays against the code that
// wrote it; a changed orchestration fails with the source line of the changed call.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Runtime, SqliteProvider, HISTORY_FORMAT, type OrchestrationContext, type HistoryExport } from "../../src/index.js";
import { replayHistory, NondeterminismError, InvalidHistoryError, OrchestrationNotRegisteredError } from "../../src/testing/index.js";
import { harness, PROVIDERS } from "../e2e/harness.js";

const thisFile = fileURLToPath(import.meta.url);
/** 1-based line of the first line in this compiled file containing `marker`. */
function lineOf(marker: string): number {
  const lines = readFileSync(thisFile, "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(marker) && !l.includes("lineOf("));
  assert.ok(i >= 0, `marker ${marker} not found`);
  return i + 1;
}

const original = async (ctx: OrchestrationContext, n: number) => {
  const a = await ctx.scheduleActivity<number>("Add", { n, by: 1 });
  await ctx.scheduleTimer(5);
  const b = await ctx.scheduleActivity<number>("Add", { n: a, by: 10 });
  ctx.setCustomStatus(`at ${b}`);
  return b;
};
const changed = async (ctx: OrchestrationContext, n: number) => {
  const a = await ctx.scheduleActivity<number>("Add", { n, by: 1 });
  await ctx.scheduleTimer(5);
  const b = await ctx.scheduleActivity<number>("Multiply", { n: a, by: 10 }); // CHANGED-CALL
  ctx.setCustomStatus(`at ${b}`);
  return b;
};
/** Stops making the decisions its history shows: it returns after the first activity. */
const stopsEarly = async (ctx: OrchestrationContext, n: number) => {
  const a = await ctx.scheduleActivity<number>("Add", { n, by: 1 }); // STOPS-AFTER
  return a;
};
/** Waits on a plain promise after its first activity, so it never subscribes to the event. */
const waitsForever = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Add", { n: 1, by: 1 }); // WAITS-AFTER
  return new Promise<never>(() => undefined);
};

/** Asserts that `err` is a NondeterminismError whose location is the line of `marker` in this file. */
function assertNamesLine(err: unknown, marker: string): void {
  assert.ok(err instanceof NondeterminismError, String(err));
  assert.ok(err.location, `location is set: ${err.message}`);
  const m = /^(.*):(\d+):(\d+)$/.exec(err.location.replace(/^file:\/\//, ""));
  assert.ok(m, err.location);
  assert.equal(m[1], thisFile);
  assert.equal(Number(m[2]), lineOf(marker), err.message);
  assert.ok(err.message.includes(err.location), err.message);
}

const changedOutput = async (ctx: OrchestrationContext, n: number) => {
  const b = await original(ctx, n);
  return b + 1;
};

for (const kind of PROVIDERS) {
  describe(`[${kind}] exportHistory + replayHistory`, () => {
    it("exports a versioned document that replays against the same code and fails on changed code with the source line", async () => {
      const h = await harness((rt) => {
        rt.registerActivity("Add", async (_ctx, x: { n: number; by: number }) => x.n + x.by);
        rt.registerOrchestration("Calc", original);
        rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => {
          await ctx.scheduleActivity("Add", { n: 1, by: 1 });
          return ctx.waitForEvent("never");
        });
      }, {}, kind);
      try {
        await h.client.startOrchestration("calc-1", "Calc", 1);
        assert.equal((await h.client.waitForOrchestration("calc-1", 10_000)).output, 12);
        const doc = await h.client.exportHistory("calc-1");
        assert.equal(doc.format, HISTORY_FORMAT);
        assert.equal(doc.formatVersion, 1);
        assert.equal(doc.instance.instanceId, "calc-1");
        assert.equal(doc.instance.orchestrationName, "Calc");
        assert.equal(doc.instance.status, "Completed");
        assert.equal(doc.executions.length, 1);
        assert.deepEqual(doc.executions[0]!.events, await h.client.readHistory("calc-1"));
        // JSON round trip: what a CI job would read from a file.
        const text = JSON.stringify(doc);
        await replayHistory(text, { Calc: original });
        await replayHistory(JSON.parse(text) as HistoryExport, h.runtime);
        await replayHistory(doc.executions[0]!.events, { Calc: original });

        const err = await replayHistory(doc, { Calc: changed }).then(
          () => assert.fail("changed code replayed"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof NondeterminismError, String(err));
        assert.equal(err.instanceId, "calc-1");
        assert.equal(err.executionId, 1);
        assert.ok(err.location, "location is set");
        const m = /^(.*):(\d+):(\d+)$/.exec(err.location!.replace(/^file:\/\//, ""));
        assert.ok(m, err.location!);
        assert.equal(m[1], thisFile);
        assert.equal(Number(m[2]), lineOf("// CHANGED-CALL"));
        assert.match(err.message, /Multiply/);
        assert.ok(err.message.includes(err.location!), err.message);

        // Code that stops short of its history names the line of its last call into the context.
        const early = await replayHistory(doc, { Calc: stopsEarly }).then(() => assert.fail("replayed"), (e: unknown) => e);
        assertNamesLine(early, "// STOPS-AFTER");
        assert.match((early as Error).message, /history continues with/);

        // A different ending is a divergence too.
        await assert.rejects(replayHistory(doc, { Calc: changedOutput }), (e: unknown) => e instanceof NondeterminismError && /ends with OrchestrationCompleted/.test(e.message));
        await assert.rejects(replayHistory(doc, { Other: original }), OrchestrationNotRegisteredError);

        // A running instance replays too (nothing is written: its history is unchanged).
        await h.client.startOrchestration("waits-1", "Waits");
        for (let i = 0; i < 200 && (await h.client.readHistory("waits-1")).length < 5; i++) await new Promise((r) => setTimeout(r, 20));
        const before = await h.client.readHistory("waits-1");
        const running = await h.client.exportHistory("waits-1");
        assert.equal(running.instance.status, "Running");
        await replayHistory(running, h.runtime);
        assert.deepEqual(await h.client.readHistory("waits-1"), before);
        const stuck = await replayHistory(running, { Waits: waitsForever }).then(() => assert.fail("replayed"), (e: unknown) => e);
        assertNamesLine(stuck, "// WAITS-AFTER");
        assert.match((stuck as Error).message, /did not do that; it stopped after its last call/);
      } finally {
        await h.close();
      }
    });
  });
}

describe("history documents", () => {
  it("rejects unknown formats, newer versions and bad shapes with InvalidHistoryError", async () => {
    const handlers = { Calc: original };
    await assert.rejects(replayHistory("{not json", handlers), InvalidHistoryError);
    await assert.rejects(replayHistory({ format: "other" } as unknown as HistoryExport, handlers), InvalidHistoryError);
    await assert.rejects(
      replayHistory({ format: HISTORY_FORMAT, formatVersion: 99, instance: { instanceId: "x" }, executions: [] } as unknown as HistoryExport, handlers),
      (e: unknown) => e instanceof InvalidHistoryError && /newer/.test(e.message),
    );
    await assert.rejects(
      replayHistory({ format: HISTORY_FORMAT, formatVersion: 1, instance: { instanceId: "x" }, executions: [{ executionId: 1, events: [{}] }] } as unknown as HistoryExport, handlers),
      InvalidHistoryError,
    );
  });

  it("replays a history exported by duroxide-ts 0.1.0 (format version 1), including continue-as-new executions", async () => {
    // Written once by this release; later releases must keep replaying it.
    const fixture = fileURLToPath(new URL("../../../test/testing/fixtures/history-v1.json", import.meta.url));
    const doc = readFileSync(fixture, "utf8");
    await replayHistory(doc, { Counter: counter });
    await assert.rejects(replayHistory(doc, { Counter: async (ctx: OrchestrationContext, n: number) => counter(ctx, n + 1) }), NondeterminismError);
  });
});

describe("replayHistory and the determinism mode", () => {
  it("given a Runtime, replays under that runtime's mode; an explicit option still wins", async () => {
    // crypto.randomUUID() is refused under "guard" and "strict" but allowed with determinism "off".
    const usesUuid = async (ctx: OrchestrationContext) => {
      const tag = crypto.randomUUID().length;
      return ctx.scheduleActivity<number>("Add", { n: tag, by: 1 });
    };
    const p = await SqliteProvider.inMemory();
    const off = new Runtime(p, { logLevel: "error", dispatcherPollIntervalMs: 10, determinism: "off" });
    off.registerActivity("Add", async (_ctx, x: { n: number; by: number }) => x.n + x.by);
    off.registerOrchestration("Uuid", usesUuid);
    await off.start();
    try {
      assert.equal(off.determinism, "off");
      await off.client.startOrchestration("u-1", "Uuid", null);
      assert.equal((await off.client.waitForOrchestration("u-1", 10_000)).output, 37);
      const doc = await off.client.exportHistory("u-1");
      await replayHistory(doc, off);
      await assert.rejects(replayHistory(doc, off, { determinism: "guard" }), /randomUUID/);
      const guarded = new Runtime(p, { logLevel: "error" });
      guarded.registerOrchestration("Uuid", usesUuid);
      assert.equal(guarded.determinism, "guard");
      await assert.rejects(replayHistory(doc, guarded), /randomUUID/);
      await assert.rejects(replayHistory(doc, { Uuid: usesUuid }), /randomUUID/, "a handler map keeps the default, guard");
    } finally {
      await off.shutdown();
      await p.close();
    }
  });
});

/** The orchestration of the fixture: counts to 2 through continue-as-new, with KV and an activity. */
async function counter(ctx: OrchestrationContext, n: number): Promise<number> {
  const v = await ctx.scheduleActivity<number>("Add", { n, by: 1 });
  ctx.setValue("count", String(v));
  if (v < 2) return ctx.continueAsNew(v);
  await ctx.scheduleTimer(1);
  return v;
}

/** Writes the fixture (run by hand: node dist/test/testing/replay.test.js --write-fixture). */
if (process.argv.includes("--write-fixture")) {
  const p = await SqliteProvider.inMemory();
  const rt = new Runtime(p, { logLevel: "error", dispatcherPollIntervalMs: 10 });
  rt.registerActivity("Add", async (_ctx, x: { n: number; by: number }) => x.n + x.by);
  rt.registerOrchestration("Counter", counter);
  await rt.start();
  await rt.client.startOrchestration("counter-1", "Counter", 0);
  await rt.client.waitForOrchestration("counter-1", 10_000);
  const doc = await rt.client.exportHistory("counter-1");
  const { writeFileSync, mkdirSync } = await import("node:fs");
  const out = fileURLToPath(new URL("../../../test/testing/fixtures/history-v1.json", import.meta.url));
  mkdirSync(fileURLToPath(new URL("../../../test/testing/fixtures/", import.meta.url)), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + "\n");
  await rt.shutdown();
  await p.close();
}
