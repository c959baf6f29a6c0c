// The determinism guard: Date.now()/new Date()/Math.random() replay identically inside orchestration
// code; timers and randomUUID throw naming the line; other code in the process sees real functions.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, SqliteProvider, type OrchestrationContext } from "../../src/index.js";
import { TestEnvironment, replayHistory } from "../../src/testing/index.js";

const Y2030 = Date.UTC(2030, 0, 1);

async function usesClockAndRandom(ctx: OrchestrationContext) {
  const first = { now: Date.now(), date: new Date().getTime(), random: Math.random(), fn: typeof Date() };
  await ctx.scheduleActivity("Record", first);
  await ctx.waitForEvent("go");
  const second = { now: Date.now(), random: Math.random() };
  await ctx.scheduleActivity("Record", second);
  return { first, second };
}

describe("determinism guard", () => {
  it("Date.now() and Math.random() before an activity survive a restart and a replay-every-turn run with identical decisions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-guard-"));
    const url = `sqlite:${join(dir, "s.db")}`;
    const recorded: unknown[] = [];
    const setup = (rt: Runtime) => {
      rt.registerActivity("Record", async (_c, v: unknown) => {
        recorded.push(v);
        // Activities see the real functions.
        return { now: Date.now(), random: Math.random() };
      });
      rt.registerOrchestration("Clocky", usesClockAndRandom);
    };
    try {
      const p1 = await SqliteProvider.open(url);
      const a = new Runtime(p1, { logLevel: "error", dispatcherPollIntervalMs: 10 });
      setup(a);
      await a.start();
      await a.client.startOrchestration("c-1", "Clocky");
      for (let i = 0; i < 300 && !(await a.client.readHistory("c-1")).some((e) => e.type === "ExternalSubscribed"); i++)
        await new Promise((r) => setTimeout(r, 10));
      await a.shutdown(200);
      await p1.close();

      // Restart: a new process-like runtime that replays from history on every turn.
      const p2 = await SqliteProvider.open(url);
      const b = new Runtime(p2, { logLevel: "error", dispatcherPollIntervalMs: 10, replayEveryTurn: true });
      setup(b);
      await b.start();
      await b.client.raiseEvent("c-1", "go");
      const r = await b.client.waitForOrchestration("c-1", 10_000);
      assert.equal(r.status, "Completed", r.error);
      const out = r.output as { first: { now: number; date: number; random: number; fn: string }; second: { now: number; random: number } };
      const history = await b.client.readHistory("c-1");
      const started = history.find((e) => e.type === "OrchestrationStarted")!;
      const event = history.find((e) => e.type === "ExternalEvent")!;
      // Time is the timeline of the history: the start, then the event that woke the code.
      assert.equal(out.first.now, started.timestampMs);
      assert.equal(out.first.date, started.timestampMs);
      assert.equal(out.first.fn, "string");
      assert.equal(out.second.now, event.timestampMs);
      assert.ok(out.first.random >= 0 && out.first.random < 1 && out.first.random !== out.second.random);
      // The activity inputs stored in history are what the replayed code produced again.
      const scheduled = history.filter((e) => e.type === "ActivityScheduled").map((e) => JSON.parse((e as { input: string }).input));
      assert.deepEqual(scheduled, [out.first, out.second]);
      assert.deepEqual(recorded, [out.first, out.second]);
      // And an offline replay agrees.
      await replayHistory(await b.client.exportHistory("c-1"), b);
      // The same code in another instance gets another random sequence.
      await b.client.startOrchestration("c-2", "Clocky");
      await b.client.raiseEvent("c-2", "go");
      const r2 = await b.client.waitForOrchestration("c-2", 10_000);
      assert.notEqual((r2.output as typeof out).first.random, out.first.random);
      await b.shutdown(200);
      await p2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("activities and other code in the process (between and during turns) see the real functions", async () => {
    const env = await TestEnvironment.create({ startTimeMs: Y2030 });
    const activitySaw: number[] = [];
    env.runtime.registerActivity("Now", async () => {
      activitySaw.push(Date.now(), new Date().getTime());
      setTimeout(() => undefined, 0); // allowed here
      return crypto.randomUUID();
    });
    env.runtime.registerOrchestration("Loop", async (ctx: OrchestrationContext) => {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        seen.push(Date.now());
        await ctx.scheduleActivity("Now");
      }
      return seen;
    });
    const outside: number[] = [];
    const errors: unknown[] = [];
    // Code outside orchestration code, running interleaved with the turns (like an HTTP handler).
    const tick = setInterval(() => {
      try {
        outside.push(Date.now(), new Date().getTime());
        Math.random();
        setImmediate(() => outside.push(Date.now()));
        crypto.randomUUID();
      } catch (e) {
        errors.push(e);
      }
    }, 1);
    await env.start();
    try {
      await env.client.startOrchestration("l-1", "Loop");
      const r = await env.client.waitForOrchestration("l-1", 10_000);
      assert.equal(r.status, "Completed", r.error);
      // Orchestration code ran on the virtual (2030) timeline; everything else on real time.
      for (const t of r.output as number[]) assert.ok(t >= Y2030, `orchestration saw ${t}`);
      assert.ok(outside.length > 0);
      for (const t of [...outside, ...activitySaw]) assert.ok(t < Y2030 - 24 * 3600_000, `outside code saw ${new Date(t).toISOString()}`);
      assert.deepEqual(errors, []);
    } finally {
      clearInterval(tick);
      await env.close();
    }
  });

  it("setTimeout, setInterval, setImmediate and crypto.randomUUID in orchestration code fail the instance naming the line and the durable alternative", async () => {
    const env = await TestEnvironment.create();
    const cases: Record<string, [(ctx: OrchestrationContext) => Promise<unknown>, RegExp]> = {
      T: [async () => new Promise((r) => setTimeout(r, 10)), /setTimeout\(\) is not allowed.*ctx\.scheduleTimer/],
      I: [async () => setInterval(() => undefined, 10), /setInterval\(\) is not allowed/],
      M: [async () => new Promise((r) => setImmediate(r)), /setImmediate\(\) is not allowed/],
      U: [async () => crypto.randomUUID(), /crypto\.randomUUID\(\) is not allowed.*ctx\.newGuid/],
      // Caught by the code: the instance still fails.
      C: [
        async (ctx) => {
          try {
            setTimeout(() => undefined, 1);
          } catch {
            /* swallowed */
          }
          return ctx.scheduleTimer(1);
        },
        /setTimeout\(\) is not allowed/,
      ],
    };
    for (const [name, [fn]] of Object.entries(cases)) env.runtime.registerOrchestration(name, fn);
    await env.start();
    try {
      for (const [name, [, re]] of Object.entries(cases)) {
        await env.client.startOrchestration(`v-${name}`, name);
        const r = await env.client.waitForOrchestration(`v-${name}`, 5_000);
        assert.equal(r.status, "Failed", name);
        assert.match(r.error ?? "", /^nondeterministic: /);
        assert.match(r.error ?? "", re);
        assert.match(r.error ?? "", /determinism\.test\.js:\d+:\d+/, `${name} names the line: ${r.error}`);
        const s = await env.client.getInstanceState(`v-${name}`);
        assert.equal(s.failure?.category(), "configuration");
      }
    } finally {
      await env.close();
    }
  });

  it('"strict" throws on Date and Math.random too; "off" leaves the real functions', async () => {
    const strict = await TestEnvironment.create({ runtime: { determinism: "strict" } });
    strict.runtime.registerOrchestration("D", async () => Date.now());
    strict.runtime.registerOrchestration("R", async () => Math.random());
    strict.runtime.registerOrchestration("U", async (ctx: OrchestrationContext) => ctx.utcNow());
    await strict.start();
    try {
      for (const [id, re] of [["D", /Date\.now\(\).*ctx\.utcNow/], ["R", /Math\.random\(\)/]] as const) {
        await strict.client.startOrchestration(`s-${id}`, id);
        const r = await strict.client.waitForOrchestration(`s-${id}`, 5_000);
        assert.equal(r.status, "Failed");
        assert.match(r.error ?? "", re);
      }
      await strict.client.startOrchestration("s-U", "U");
      assert.equal((await strict.client.waitForOrchestration("s-U", 5_000)).status, "Completed");
    } finally {
      await strict.close();
    }
    const off = await TestEnvironment.create({ startTimeMs: Y2030, runtime: { determinism: "off" } });
    off.runtime.registerOrchestration("D", async () => Date.now());
    await off.start();
    try {
      await off.client.startOrchestration("o-D", "D");
      const t = (await off.client.waitForOrchestration("o-D", 5_000)).output as number;
      assert.ok(Math.abs(t - Date.now()) < 5_000, "off: the real Date.now");
    } finally {
      await off.close();
    }
  });
});
