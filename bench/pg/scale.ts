// PostgreSQL scaling benchmark: the same workloads with 1, 2 and 4 runtime processes on one schema.
// Prints one JSON line per run and a summary line with the scaling ratios.
// Usage: node dist/bench/pg/scale.js [--processes=1,2,4] [--hello=600] [--fanout=40x20]
import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../../src/index.js";
import { PostgresProvider, ThrowawaySchemas, probePostgres } from "../../src/providers/postgres/index.js";

const url = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const counts = arg("processes", "1,2,4").split(",").map(Number);
const helloN = Number(arg("hello", "600"));
const [fanN, fanWidth] = arg("fanout", "40x20").split("x").map(Number) as [number, number];
const here = dirname(fileURLToPath(import.meta.url));

const problem = await probePostgres(url);
if (problem) {
  console.error(`PostgreSQL unreachable at ${url}: ${problem}`);
  process.exit(1);
}
const schemas = new ThrowawaySchemas(url, `dx_bench_${process.pid}`);

function start(schema: string): Promise<ChildProcess> {
  const child = fork(join(here, "process.js"), [url, schema], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (c) => reject(new Error(`runtime process exited with ${c}`)));
  });
}

async function run(workload: "hello" | "fanout", processes: number): Promise<{ orchPerSec: number; activitiesPerSec: number }> {
  const schema = schemas.newSchemaName();
  const provider = await PostgresProvider.connectWithSchema(url, schema, { maxConnections: 4 });
  const client = new Client(provider);
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < processes; i++) children.push(await start(schema));
    const n = workload === "hello" ? helloN : fanN;
    const activities = workload === "hello" ? n : n * fanWidth;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) => client.startOrchestration(`${workload}-${i}`, workload === "hello" ? "Hello" : "FanOut", workload === "hello" ? i : fanWidth)),
    );
    const latencies = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await client.waitForOrchestration(`${workload}-${i}`, 300_000);
        if (r.status !== "Completed") throw new Error(`${workload}-${i} ${r.status} ${r.error ?? ""}`);
        return performance.now() - t0;
      }),
    );
    const ms = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    const line = {
      workload,
      store: "postgres",
      processes,
      orchestrations: n,
      activities,
      durationMs: Math.round(ms),
      orchPerSec: Math.round((n * 1000) / ms),
      activitiesPerSec: Math.round((activities * 1000) / ms),
      p50Ms: Math.round(latencies[Math.floor(n * 0.5)]!),
      p99Ms: Math.round(latencies[Math.min(n - 1, Math.floor(n * 0.99))]!),
    };
    console.log(JSON.stringify(line));
    return line;
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    await provider.close();
    await schemas.dropSchema(schema);
  }
}

const summary: Record<string, Record<number, number>> = { hello: {}, fanout: {} };
for (const p of counts) {
  summary.hello![p] = (await run("hello", p)).orchPerSec;
  summary.fanout![p] = (await run("fanout", p)).activitiesPerSec;
}
const base = counts[0]!;
console.log(
  JSON.stringify({
    summary: "postgres-scaling",
    helloOrchPerSec: summary.hello,
    fanoutActivitiesPerSec: summary.fanout,
    helloScaling: Object.fromEntries(counts.map((p) => [p, +(summary.hello![p]! / summary.hello![base]!).toFixed(2)])),
    fanoutScaling: Object.fromEntries(counts.map((p) => [p, +(summary.fanout![p]! / summary.fanout![base]!).toFixed(2)])),
    note: "all processes share this machine's 2 cores with the PostgreSQL server",
  }),
);
await schemas.cleanup();
