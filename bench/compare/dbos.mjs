// The benchmark workloads written for DBOS Transact, run on the same PostgreSQL server as ours.
// Usage: node bench/compare/dbos.mjs <workload> <systemDatabaseUrl> [--warm]
// --warm: the workload runs once first, unreported (other workflow ids), so the figures are steady state.
// Prints one JSON line: { system: "dbos", workload, orchestrations, activities, durationMs, p50Ms, cpuMs }.
// Plain JavaScript on purpose: the DBOS SDK is installed only in bench/compare/node_modules, so
// the project's own build never needs it.
import { performance } from "node:perf_hooks";
import { DBOS } from "@dbos-inc/dbos-sdk";

const [workload, url, mode] = process.argv.slice(2);
/** Prefix of every workflow id, so the warm-up run's ids differ from the measured run's. */
let idPrefix = "";
if (!workload || !url) {
  console.error("usage: node bench/compare/dbos.mjs <workload> <systemDatabaseUrl>");
  process.exit(2);
}

DBOS.setConfig({ name: "dxbench", systemDatabaseUrl: url, logLevel: "error", systemDatabasePoolSize: 20 });

const greet = async (name) => `Hello, ${name}!`;
const step = async (i) => i + 1;

const hello = DBOS.registerWorkflow(async (name) => DBOS.runStep(() => greet(name), { name: "Greet" }), { name: "Hello" });
const fanOut = DBOS.registerWorkflow(
  async (width) => {
    const rs = await Promise.all(Array.from({ length: width }, (_, i) => DBOS.runStep(() => step(i), { name: "Step" })));
    return rs.reduce((a, b) => a + b, 0);
  },
  { name: "FanOut" },
);
const seq = DBOS.registerWorkflow(
  async (k) => {
    let v = 0;
    for (let i = 0; i < k; i++) v = await DBOS.runStep(() => step(v), { name: "Step" });
    return v;
  },
  { name: "Seq" },
);
const sleeper = DBOS.registerWorkflow(
  async (ms) => {
    await DBOS.sleepms(ms);
    return "woke";
  },
  { name: "Sleep" },
);

/** Starts `n` workflows back to back (as our bench does) and waits for them all. */
async function startMany(prefix, n, wf, input, check) {
  const t0 = performance.now();
  const waits = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const handle = await DBOS.startWorkflow(wf, { workflowID: `${idPrefix}${prefix}-${i}` })(input(i));
    waits.push(
      handle.getResult().then((out) => {
        check(out, i);
        return performance.now() - started;
      }),
    );
  }
  const latencies = await Promise.all(waits);
  return { durationMs: performance.now() - t0, latencies };
}

function expect(cond, what) {
  if (!cond) throw new Error(`dbos ${workload}: ${what}`);
}

const WORKLOADS = {
  async hello() {
    const n = 500;
    const r = await startMany("hello", n, hello, (i) => `w${i}`, (o, i) => expect(o === `Hello, w${i}!`, `bad output ${o}`));
    return { orchestrations: n, activities: n, ...r };
  },
  async fanout() {
    const n = 50;
    const width = 20;
    const r = await startMany("fan", n, fanOut, () => width, (o) => expect(o === (width * (width + 1)) / 2, `bad output ${o}`));
    return { orchestrations: n, activities: n * width, ...r };
  },
  async sequential500() {
    const r = await startMany("seq", 1, seq, () => 500, (o) => expect(o === 500, `bad output ${o}`));
    return { orchestrations: 1, activities: 500, ...r };
  },
  async single() {
    const n = 200;
    const latencies = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      const h = await DBOS.startWorkflow(hello, { workflowID: `${idPrefix}one-${i}` })(`s${i}`);
      const o = await h.getResult();
      latencies.push(performance.now() - s);
      expect(o === `Hello, s${i}!`, `bad output ${o}`);
    }
    return { orchestrations: n, activities: n, durationMs: performance.now() - t0, latencies };
  },
  async timers() {
    const n = 200;
    const delay = 100;
    const r = await startMany("tmr", n, sleeper, () => delay, (o) => expect(o === "woke", `bad output ${o}`));
    return { orchestrations: n, activities: 0, ...r, completionLateness: r.latencies.map((l) => l - delay) };
  },
};

const run = WORKLOADS[workload];
if (!run) {
  console.error(`unknown workload ${workload}; known: ${Object.keys(WORKLOADS).join(", ")}`);
  process.exit(2);
}

const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(0.5 * s.length) - 1)] : NaN;
};
const r2 = (x) => Math.round(x * 100) / 100;

await DBOS.launch();
try {
  if (mode === "--warm") {
    idPrefix = "warmup-";
    await run();
    idPrefix = "";
  }
  const cpu0 = process.cpuUsage();
  const r = await run();
  const cpu = process.cpuUsage(cpu0);
  const line = {
    system: "dbos",
    workload,
    orchestrations: r.orchestrations,
    activities: r.activities,
    durationMs: r2(r.durationMs),
    orchPerSec: r2((r.orchestrations * 1000) / r.durationMs),
    activitiesPerSec: r2((r.activities * 1000) / r.durationMs),
    p50Ms: r2(p50(r.latencies)),
    cpuMs: r2((cpu.user + cpu.system) / 1000),
    peakRssMb: r2(process.resourceUsage().maxRSS / 1024),
  };
  if (r.completionLateness) line.completionLatenessP50Ms = r2(p50(r.completionLateness));
  process.stdout.write(JSON.stringify(line) + "\n");
} finally {
  await DBOS.shutdown();
}
