// A store that is unreachable for a while (every call fails retryably, as during a PostgreSQL
// restart): the result of an activity that finishes during the outage is committed when the store
// is back, not dropped and run again; a client wait rides the outage out; an ack that cannot get
// through before its lock lapses is given up on loudly (an error log), never silently.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProviderError, type LogRecord, type OrchestrationContext, type Provider } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The provider, with a switch that makes every call fail retryably (notifications still flow). */
function withOutage(inner: Provider): { provider: Provider; setDown(down: boolean): void } {
  let down = false;
  const provider = new Proxy(inner, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      const f = v as (...args: unknown[]) => unknown;
      if (key === "subscribe" || key === "close") return f.bind(target);
      return (...args: unknown[]) =>
        down ? Promise.reject(new ProviderError(String(key), "store unreachable (test outage)", true)) : f.apply(target, args);
    },
  });
  return { provider, setDown: (d) => (down = d) };
}

for (const kind of PROVIDERS) {
  describe(`store outage (${kind})`, () => {
    it("an activity result computed during an outage is committed when the store is back; the activity ran once", { timeout: 60_000 }, async () => {
      let runs = 0;
      let outage: { setDown(d: boolean): void } | null = null;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Work", async () => {
            runs++;
            outage!.setDown(true);
            setTimeout(() => outage!.setDown(false), 1_500);
            await sleep(100);
            return "done";
          });
          rt.registerOrchestration("One", async (ctx: OrchestrationContext) => ctx.scheduleActivity<string>("Work", null));
        },
        { workerLockTimeoutMs: 4_000 },
        kind,
        (p) => {
          const o = withOutage(p);
          outage = o;
          return o.provider;
        },
      );
      try {
        const client = h.client;
        await client.startOrchestration("o-1", "One", null);
        const s = await client.waitForOrchestration("o-1", 30_000);
        assert.equal(s.status, "Completed");
        assert.equal(s.output, "done");
        await sleep(200);
        assert.equal(runs, 1, "the activity ran again: its result was lost");
      } finally {
        outage!.setDown(false);
        await h.close();
      }
    });

    it("an ack whose lock lapses during a long outage is given up on with an error log, and the activity runs again", { timeout: 60_000 }, async () => {
      let runs = 0;
      let outage: { setDown(d: boolean): void } | null = null;
      const records: LogRecord[] = [];
      const h = await harness(
        (rt) => {
          rt.registerActivity("Work", async () => {
            runs++;
            if (runs === 1) {
              outage!.setDown(true);
              setTimeout(() => outage!.setDown(false), 1_500);
            }
            return runs;
          });
          rt.registerOrchestration("One", async (ctx: OrchestrationContext) => ctx.scheduleActivity<number>("Work", null));
        },
        { workerLockTimeoutMs: 500, logLevel: "warn", logSink: (r: LogRecord) => void records.push(r) },
        kind,
        (p) => {
          const o = withOutage(p);
          outage = o;
          return o.provider;
        },
      );
      try {
        await h.client.startOrchestration("o-2", "One", null);
        const s = await h.client.waitForOrchestration("o-2", 30_000);
        assert.equal(s.status, "Completed");
        assert.equal(s.output, 2);
        assert.ok(
          records.some((r) => r.level === "error" && /activity result not recorded/.test(r.message)),
          `no error log for the lost result: ${JSON.stringify(records.map((r) => r.message))}`,
        );
      } finally {
        outage!.setDown(false);
        await h.close();
      }
    });
  });
}
