// PostgreSQL scaling benchmark (npm run bench:pg): the same workloads with 1, 2 and 4 runtime
// processes sharing one database, reporting for each run the throughput, the Node CPU per
// orchestration of every runtime process, the CPU per orchestration of the PostgreSQL backends,
// and statements and commits per orchestration; then a table of medians and, from the measured
// CPU per orchestration, a projection of what a machine with N cores could sustain.
// Usage: node dist/bench/pg/scale.js [--processes=1,2,4] [--workloads=hello,fanout] [--hello=600]
//        [--fanout=40x20] [--repeat=3] [--commits-per-sec=12400]
// Each run gets a database of its own (dropped afterwards), so the server's counters and its
// backends' CPU belong to that run. Each runtime process first warms up (JIT) on another database,
// as a long-running deployment would be. Runtime processes and the driver connect with different
// application names, which splits the backends' CPU between them.
import { fork, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../../src/index.js";
import { PostgresProvider, probePostgres } from "../../src/providers/postgres/index.js";
import { PgUsageSampler, ThrowawayDatabase } from "../pgstats.js";
import { round } from "../stats.js";
import type { Mark } from "./process.js";
import { commitBound, project, type PerOrchestrationCost } from "./projection.js";

const url = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const counts = arg("processes", "1,2,4").split(",").map(Number);
const helloN = Number(arg("hello", "600"));
const [fanN, fanWidth] = arg("fanout", "40x20").split("x").map(Number) as [number, number];
const repeat = Number(arg("repeat", "3"));
const workloads = arg("workloads", "hello,fanout").split(",") as WorkloadName[];
/** DX_BENCH_CPU_PROF=<dir>: each runtime process writes a V8 CPU profile there (bench/cpuprofile-top.ts reads it). */
const cpuProfDir = process.env["DX_BENCH_CPU_PROF"];
/** pgbench on this machine kind, 32 clients, single-row transactions (issue 15): the commit bound. */
const commitsPerSec = Number(arg("commits-per-sec", "12400"));
const here = dirname(fileURLToPath(import.meta.url));
const DRIVER_APP = "dx-bench-driver";
const RUNTIME_APP = "dx-bench-runtime";

type WorkloadName = "hello" | "fanout";

interface Run {
  workload: WorkloadName;
  processes: number;
  orchestrations: number;
  activities: number;
  durationMs: number;
  orchPerSec: number;
  activitiesPerSec: number;
  /** Node CPU ms per orchestration, summed over the runtime processes. */
  nodeCpuMsPerOrch: number;
  /** Each runtime process's CPU ms divided by all orchestrations (they add up to the sum). */
  nodeCpuMsPerOrchByProcess: number[];
  /** Activities each runtime process ran (how evenly the work spread). */
  activitiesByProcess: number[];
  /** Notifications delivered per orchestration, summed over the runtime processes (each hears every other's over LISTEN). */
  notificationsPerOrch: number;
  /** The driver (starts the orchestrations, follows completions): harness, not in the projection. */
  driverCpuMsPerOrch: number;
  /** CPU ms per orchestration of all the database's backends, then split. */
  pgCpuMsPerOrch: number | null;
  pgRuntimeCpuMsPerOrch: number | null;
  pgDriverCpuMsPerOrch: number | null;
  statementsPerOrch: number | null;
  /** pg_stat_statements evicted entries during the run: statementsPerOrch may be low. */
  statementsEvicted: boolean;
  commitsPerOrch: number;
  load1Before: number;
  load1After: number;
}

function startRuntime(dbUrl: string, index: number, warmupUrl: string): Promise<ChildProcess> {
  const child = fork(join(here, "process.js"), [dbUrl, `${RUNTIME_APP}-${index}`, warmupUrl], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [],
  });
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (c) => reject(new Error(`runtime process exited with ${c}`)));
  });
}

function mark(child: ChildProcess): Promise<Mark> {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve(m as Mark));
    child.send("mark");
  });
}

/** Resolves when every id reported a status change (the only one Hello and FanOut make is their end). */
function completions(provider: PostgresProvider, client: Client, ids: string[]): { done: Promise<void>; stop: () => void } {
  const pending = new Set(ids);
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const unsubscribe = provider.subscribe((n) => {
    if (n.kind === "instanceChanged" && (n.changes === undefined || n.changes.status) && pending.delete(n.instance) && pending.size === 0) resolve();
  });
  // Safety net for a lost NOTIFY: when nothing finished for 10 s, read the statuses still pending
  // (counted in the run's statements, so it is slow on purpose; it never fires in a healthy run).
  let last = pending.size;
  let stopped = false;
  const sweep = setInterval(() => {
    if (pending.size !== last) {
      last = pending.size;
      return;
    }
    void (async () => {
      for (const id of [...pending]) {
        if (stopped) return;
        const s = await client.getStatus(id);
        if (s.status === "Completed" || s.status === "Failed") pending.delete(id);
      }
      if (pending.size === 0) resolve();
    })().catch(() => undefined);
  }, 10_000);
  return {
    done,
    stop: () => {
      stopped = true;
      unsubscribe();
      clearInterval(sweep);
    },
  };
}

async function run(workload: WorkloadName, processes: number): Promise<Run> {
  const load1Before = loadavg()[0]!;
  const db = await ThrowawayDatabase.create(url, "dxscale");
  const warmup = await ThrowawayDatabase.create(url, "dxscalewarm");
  const sampler = new PgUsageSampler(url, db.name);
  const provider = await PostgresProvider.connect(db.url, { maxConnections: 4, applicationName: DRIVER_APP });
  const client = new Client(provider);
  const children: ChildProcess[] = [];
  try {
    // Each process warms up (JIT) on a database of its own first; all of them at once.
    children.push(...(await Promise.all(Array.from({ length: processes }, (_, i) => startRuntime(db.url, i, warmup.url)))));
    await warmup.drop();
    const n = workload === "hello" ? helloN : fanN;
    const activities = workload === "hello" ? n : n * fanWidth;
    const ids = Array.from({ length: n }, (_, i) => `${workload}-${i}`);
    const tracking = completions(provider, client, ids);
    await provider.whenListening();
    await sampler.start();
    const marks0 = await Promise.all(children.map(mark));
    const driverCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(ids.map((id, i) => client.startOrchestration(id, workload === "hello" ? "Hello" : "FanOut", workload === "hello" ? i : fanWidth)));
    await tracking.done;
    const ms = performance.now() - t0;
    const driverCpu = process.cpuUsage(driverCpu0);
    const marks1 = await Promise.all(children.map(mark));
    tracking.stop();
    // A backend publishes its commit counter when it exits (or idles a while): let the sampler
    // take a last reading of the idle backends' CPU, close every connection, then read.
    await new Promise((r) => setTimeout(r, 250));
    await stopAll(children);
    await provider.close();
    const pg = await sampler.stop();
    // Checked after the server's counters were read, so the check is not counted.
    const check = await PostgresProvider.connect(db.url, { maxConnections: 2 });
    try {
      const checker = new Client(check);
      for (const id of ids) {
        const s = await checker.getStatus(id);
        if (s.status !== "Completed") throw new Error(`${id} ended ${s.status} ${s.error ?? ""}`);
      }
    } finally {
      await check.close();
    }
    const cpuMs = marks1.map((m, i) => (m.cpuUserUs + m.cpuSystemUs - marks0[i]!.cpuUserUs - marks0[i]!.cpuSystemUs) / 1000);
    const byApp = pg.backendCpuMsByApplication;
    const appCpu = (prefix: string): number | null =>
      byApp === null ? null : Object.entries(byApp).reduce((s, [app, v]) => (app.startsWith(prefix) ? s + v : s), 0);
    const perOrch = (v: number | null): number | null => (v === null ? null : round(v / n, 3));
    const line: Run = {
      workload,
      processes,
      orchestrations: n,
      activities,
      durationMs: Math.round(ms),
      orchPerSec: Math.round((n * 1000) / ms),
      activitiesPerSec: Math.round((activities * 1000) / ms),
      nodeCpuMsPerOrch: round(cpuMs.reduce((a, b) => a + b, 0) / n, 3),
      nodeCpuMsPerOrchByProcess: cpuMs.map((c) => round(c / n, 3)),
      activitiesByProcess: marks1.map((m, i) => m.activities - marks0[i]!.activities),
      notificationsPerOrch: round(marks1.reduce((s, m, i) => s + m.notifications - marks0[i]!.notifications, 0) / n, 2),
      driverCpuMsPerOrch: round((driverCpu.user + driverCpu.system) / 1000 / n, 3),
      pgCpuMsPerOrch: perOrch(pg.backendCpuMs),
      pgRuntimeCpuMsPerOrch: perOrch(appCpu(RUNTIME_APP)),
      pgDriverCpuMsPerOrch: perOrch(appCpu(DRIVER_APP)),
      statementsPerOrch: pg.statements === null ? null : round(pg.statements / n, 2),
      statementsEvicted: pg.statementsEvicted,
      commitsPerOrch: round(pg.commits / n, 2),
      load1Before: round(load1Before, 2),
      load1After: round(loadavg()[0]!, 2),
    };
    console.log(JSON.stringify(line));
    return line;
  } finally {
    await stopAll(children);
    await provider.close();
    await db.drop();
    await warmup.drop();
  }
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median of one figure over a cell's repeats (each figure on its own). */
function med(runs: Run[], f: (r: Run) => number | null): number | null {
  const v = runs.map(f).filter((x): x is number => x !== null);
  return v.length ? round(median(v), 3) : null;
}

const fmt = (v: number | null, digits = 2): string => (v === null ? "n/a" : v.toFixed(digits));

function table(results: Map<string, Run[]>): void {
  const rows: string[] = [
    "| workload | processes | orch/s | activities/s | Node CPU ms/orch (sum = per process) | PG CPU ms/orch (runtimes + driver) | statements/orch | commits/orch | notifications/orch (all runtimes) | driver CPU ms/orch | load1 |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [, runs] of results) {
    const r0 = runs[0]!;
    const byProcess = r0.nodeCpuMsPerOrchByProcess.map((_, i) => fmt(med(runs, (r) => r.nodeCpuMsPerOrchByProcess[i]!)));
    rows.push(
      `| ${r0.workload} | ${r0.processes} | ${fmt(med(runs, (r) => r.orchPerSec), 0)} | ${fmt(med(runs, (r) => r.activitiesPerSec), 0)} ` +
        `| ${fmt(med(runs, (r) => r.nodeCpuMsPerOrch))} = ${byProcess.join(" + ")} ` +
        `| ${fmt(med(runs, (r) => r.pgCpuMsPerOrch))} (${fmt(med(runs, (r) => r.pgRuntimeCpuMsPerOrch))} + ${fmt(med(runs, (r) => r.pgDriverCpuMsPerOrch))}) ` +
        `| ${fmt(med(runs, (r) => r.statementsPerOrch), 1)}${runs.some((r) => r.statementsEvicted) ? "*" : ""} | ${fmt(med(runs, (r) => r.commitsPerOrch), 1)} | ${fmt(med(runs, (r) => r.notificationsPerOrch), 1)} | ${fmt(med(runs, (r) => r.driverCpuMsPerOrch))} ` +
        `| ${fmt(Math.min(...runs.map((r) => r.load1Before)), 1)}–${fmt(Math.max(...runs.map((r) => r.load1After)), 1)} |`,
    );
  }
  console.log(`\nMedians of ${repeat} run(s) per row (each figure on its own).`);
  console.log(rows.join("\n"));
  if ([...results.values()].flat().some((r) => r.statementsEvicted)) {
    console.log("* pg_stat_statements evicted entries during a run of this row (its table was full): statements may be undercounted");
  }
}

function projection(results: Map<string, Run[]>): void {
  const cores = [2, 4, 8, 16, 32, 64];
  const top = Math.max(...counts);
  console.log(
    `\nProjection: orchestrations/s at 100% CPU on N cores, from the CPU per orchestration measured with ${top} runtime processes ` +
      "(the most coordination measured). Model and assumptions: bench/pg/projection.ts and README (Benchmarks).",
  );
  for (const w of workloads) {
    const runs = results.get(`${w}/${top}`);
    if (!runs) continue;
    const nodeCpuMs = med(runs, (r) => r.nodeCpuMsPerOrch);
    const pgCpuMs = med(runs, (r) => r.pgCpuMsPerOrch);
    const commits = med(runs, (r) => r.commitsPerOrch);
    if (nodeCpuMs === null || pgCpuMs === null || commits === null) {
      console.log(`${w}: PostgreSQL backend CPU not measurable here (/proc of the server not readable): no projection`);
      continue;
    }
    const cost: PerOrchestrationCost = { nodeCpuMs, pgCpuMs, commits };
    const unit = w === "fanout" ? ` (${fanWidth} activities each)` : " (1 activity each)";
    console.log(`\n${w}${unit}: Node ${fmt(nodeCpuMs)} ms + PostgreSQL ${fmt(pgCpuMs)} ms CPU per orchestration, ${fmt(commits, 1)} commits`);
    console.log("| cores | runtimes + PostgreSQL on one machine | runtime cores only (PostgreSQL elsewhere) | PostgreSQL cores only (runtimes elsewhere) |");
    console.log("|---|---|---|---|");
    for (const p of project(cost, cores)) console.log(`| ${p.cores} | ${p.sharedMachine} | ${p.runtimeCores} | ${p.postgresCores} |`);
    console.log(`commit bound at ${commitsPerSec} commits/s (pgbench, 32 clients, this machine): ${commitBound(cost, commitsPerSec)} orchestrations/s`);
  }
}

const problem = await probePostgres(url);
if (problem) {
  console.error(`PostgreSQL unreachable at ${url}: ${problem}`);
  process.exit(1);
}
const results = new Map<string, Run[]>();
for (let i = 0; i < repeat; i++) {
  for (const p of counts) {
    for (const w of workloads) {
      const key = `${w}/${p}`;
      results.set(key, [...(results.get(key) ?? []), await run(w, p)]);
    }
  }
}
table(new Map([...results].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))));
projection(results);
