// Benchmark driver: `node dist/bench/run.js [workload...] [--store=memory|file|both|postgres|all]`.
// Prints one JSON line per workload per store, then one summary line. The PostgreSQL store runs
// each workload in a database of its own on DATABASE_URL's server (default 127.0.0.1:5432) and
// reports what the server spent on it (backend CPU, commits, statements).
// --tracing: the runtime reports spans and metrics to a real OpenTelemetry SDK (exporting nowhere);
// --tracing=both: each repeat runs without and then with it, and a line gives the overhead.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, SqliteProvider, type Provider, type RuntimeOptions } from "../src/index.js";
import { PostgresProvider, probePostgres } from "../src/providers/postgres/index.js";
import { PgUsageSampler, ThrowawayDatabase, perOrchestration, type PgUsage } from "./pgstats.js";
import { ALL, sequential, waiting, type Workload } from "./workloads.js";
import { RssSampler, round, summarize } from "./stats.js";
import { instrument } from "./callstats.js";

type StoreKind = "sqlite-memory" | "sqlite-file" | "postgres";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
/** Set by bench:compare: an existing, empty database to run in (it samples the server itself). */
const PG_DATABASE_URL = process.env["DX_BENCH_PG_DATABASE_URL"];

const RUNTIME_OPTIONS: RuntimeOptions = {
  orchestrationConcurrency: 16,
  workerConcurrency: 32,
  dispatcherPollIntervalMs: 10,
  logLevel: "error",
  // DX_BENCH_DETERMINISM=off|guard|strict measures the determinism guard's cost (default: the runtime's, guard).
  ...(process.env["DX_BENCH_DETERMINISM"] ? { determinism: process.env["DX_BENCH_DETERMINISM"] as RuntimeOptions["determinism"] } : {}),
  // DX_BENCH_CACHE_SIZE=N measures what the instance cache holds (default: the runtime's).
  ...(process.env["DX_BENCH_CACHE_SIZE"] ? { instanceCacheSize: Number(process.env["DX_BENCH_CACHE_SIZE"]) } : {}),
};

/** Targets for a SQLite file store (issue 15). */
const TARGETS = {
  helloOrchPerSec: 3_000,
  fanoutActivitiesPerSec: 10_000,
  sequential1000Ms: 300,
  timerLatenessP50Ms: 5,
  singleP50Ms: 1,
  peakRssMb: 100,
};

/** Rust-core duroxide-node on the same machine kind. */
const REFERENCE = {
  helloOrchPerSec: 130,
  fanoutActivitiesPerSec: 676,
  sequentialMsPerStep: 9_500 / 500,
  timerLatenessP50Ms: 489,
  singleP50Ms: 20,
};

interface Line {
  workload: string;
  store: StoreKind;
  orchestrations: number;
  activities: number;
  durationMs: number;
  orchPerSec: number;
  activitiesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  [k: string]: unknown;
}

interface Args {
  workloads: Workload[];
  stores: StoreKind[];
  calls: boolean;
  /** false: none; "memory": an in-memory hello first (default); "same": the measured workload once on the same store. */
  warmup: false | "memory" | "same";
  repeat: number;
  pragmas: string[];
  tracing: "off" | "on" | "both";
}

function parseArgs(argv: string[]): Args {
  let calls = false;
  let warmup: false | "memory" | "same" = "memory";
  let repeat = 1;
  let tracing: Args["tracing"] = "off";
  const pragmas: string[] = [];
  let stores: StoreKind[] = ["sqlite-memory", "sqlite-file"];
  const names: string[] = [];
  for (const a of argv) {
    if (a.startsWith("--store=")) {
      const v = a.slice("--store=".length);
      const named: Record<string, StoreKind[]> = {
        memory: ["sqlite-memory"],
        file: ["sqlite-file"],
        both: ["sqlite-memory", "sqlite-file"],
        postgres: ["postgres"],
        all: ["sqlite-memory", "sqlite-file", "postgres"],
      };
      stores = v.split(",").flatMap((x) => {
        const s = named[x];
        if (!s) throw new Error(`unknown --store=${x} (memory|file|both|postgres|all, comma-separated)`);
        return s;
      });
    } else if (a.startsWith("--repeat=")) {
      repeat = Number(a.slice("--repeat=".length));
      if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`bad ${a}`);
    } else if (a.startsWith("--pragma=")) pragmas.push(a.slice("--pragma=".length));
    else if (a === "--calls") calls = true;
    else if (a === "--tracing" || a === "--tracing=on") tracing = "on";
    else if (a === "--tracing=both") tracing = "both";
    else if (a === "--no-warmup") warmup = false;
    else if (a === "--warmup=same") warmup = "same";
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else names.push(a);
  }
  const workloads = names.length === 0 ? ALL : names.map((n) => {
    const m = /^sequential(\d+)$/.exec(n);
    const wait = /^waiting(\d+)(k?)$/.exec(n);
    const w =
      ALL.find((x) => x.name === n) ??
      (m ? sequential(Number(m[1])) : wait ? waiting(Number(wait[1]) * (wait[2] ? 1000 : 1)) : undefined);
    if (!w) throw new Error(`unknown workload '${n}'; known: ${ALL.map((x) => x.name).join(", ")}, sequential<N>, waiting<N> (waiting10k: 10,000 waiting for an event)`);
    return w;
  });
  return { workloads, stores, calls, warmup, repeat, pragmas, tracing };
}

function vsReference(w: string, l: Line): Record<string, number> {
  switch (w) {
    case "hello":
      return { vsReference: round(l.orchPerSec / REFERENCE.helloOrchPerSec, 1) };
    case "fanout":
      return { vsReference: round(l.activitiesPerSec / REFERENCE.fanoutActivitiesPerSec, 1) };
    case "sequential200":
    case "sequential1000":
      return { vsReference: round(REFERENCE.sequentialMsPerStep / (l.durationMs / l.activities), 1) };
    case "timers": {
      const p50 = l.fireLatenessP50Ms as number;
      return { vsReference: round(REFERENCE.timerLatenessP50Ms / Math.max(p50, 0.5), 1) };
    }
    case "single":
      return { vsReference: round(REFERENCE.singleP50Ms / l.p50Ms, 1) };
    default:
      return {};
  }
}

async function runOne(w: Workload, store: StoreKind, calls = false, pragmas: string[] = [], tracing = false, pgSchema?: string): Promise<Line> {
  let dir: string | null = null;
  let db: ThrowawayDatabase | null = null;
  let sampler: PgUsageSampler | null = null;
  let provider: Provider;
  let walPath: string | null = null;
  if (store === "postgres" && PG_DATABASE_URL) {
    // bench:compare made the database and measures the server from outside this process.
    provider = pgSchema ? await PostgresProvider.connectWithSchema(PG_DATABASE_URL, pgSchema) : await PostgresProvider.connect(PG_DATABASE_URL);
  } else if (store === "postgres") {
    db = await ThrowawayDatabase.create(PG_URL, "dxbench");
    provider = await PostgresProvider.connect(db.url);
    sampler = new PgUsageSampler(PG_URL, db.name);
  } else {
    let sqlite: SqliteProvider;
    if (store === "sqlite-file") {
      dir = mkdtempSync(join(tmpdir(), "dx-bench-"));
      sqlite = await SqliteProvider.open(`sqlite:${join(dir, "bench.db")}`);
    } else sqlite = await SqliteProvider.inMemory();
    // Experiments only (--pragma=name=value): applied through the provider's raw-connection escape hatch.
    for (const p of pragmas) sqlite.unsafeRawDatabase().pragma(p);
    const noCheckpoint = pragmas.some((p) => p.replace(/\s/g, "") === "wal_autocheckpoint=0");
    if (store === "sqlite-file" && noCheckpoint) walPath = `${sqlite.location}-wal`;
    provider = sqlite;
  }
  const callStats = calls ? instrument(provider, walPath) : null;
  const otel = tracing ? (await import("./tracing.js")).benchTelemetry() : null;
  const runtime = new Runtime(provider, otel ? { ...RUNTIME_OPTIONS, telemetry: otel.telemetry } : RUNTIME_OPTIONS);
  w.register(runtime);
  global.gc?.();
  // What the process already held (earlier workloads, the warm-up): peak RSS includes it.
  const rssStartMb = round(process.memoryUsage.rss() / (1024 * 1024), 1);
  const rss = new RssSampler(50);
  try {
    await runtime.start();
    await sampler?.start();
    const cpu0 = process.cpuUsage();
    const r = await w.run({ runtime, client: runtime.client, provider });
    const cpu = process.cpuUsage(cpu0);
    const peakRssMb = rss.stop();
    let pgUsage: PgUsage | null = null;
    if (sampler) {
      await runtime.shutdown(1_000);
      await provider.close();
      pgUsage = await sampler.stop();
      sampler = null;
    }
    const lat = summarize(r.latenciesMs);
    const line: Line = {
      workload: w.name,
      store,
      orchestrations: r.orchestrations,
      activities: r.activities,
      durationMs: round(r.durationMs, 1),
      orchPerSec: round((r.orchestrations * 1000) / r.durationMs, 1),
      activitiesPerSec: round((r.activities * 1000) / r.durationMs, 1),
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      peakRssMb,
      rssStartMb,
      // Process CPU time (user + system) during the workload: steadier than wall time on a shared machine.
      cpuMs: round((cpu.user + cpu.system) / 1000, 1),
      cpuMsPerOrch: round((cpu.user + cpu.system) / 1000 / r.orchestrations, 3),
      ...r.extra,
    };
    if (pgUsage) Object.assign(line, perOrchestration(pgUsage, r.orchestrations));
    Object.assign(line, vsReference(w.name, line));
    if (callStats) line.providerCalls = callStats();
    if (otel) {
      line.tracing = true;
      line.spansPerOrch = round((await otel.finish()) / r.orchestrations, 2);
    }
    return line;
  } finally {
    rss.stop();
    await runtime.shutdown(1_000);
    await provider.close();
    if (sampler) await sampler.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (db) await db.drop();
  }
}


function summary(lines: Line[]): Record<string, unknown> {
  const find = (w: string, s: StoreKind) => lines.find((l) => l.workload === w && l.store === s);
  const out: Record<string, unknown> = { summary: true };
  for (const s of ["sqlite-memory", "sqlite-file"] as const) {
    const s200 = find("sequential200", s);
    const s1000 = find("sequential1000", s);
    if (s200 && s1000) out[`seq1000OverSeq200_${s}`] = round(s1000.durationMs / s200.durationMs, 2);
  }
  const f = (w: string) => find(w, "sqlite-file");
  const check = (actual: number | undefined, target: number, higherIsBetter: boolean) =>
    actual === undefined ? undefined : { actual, target, met: higherIsBetter ? actual >= target : actual <= target };
  const targets: Record<string, unknown> = {
    helloOrchPerSec: check(f("hello")?.orchPerSec, TARGETS.helloOrchPerSec, true),
    fanoutActivitiesPerSec: check(f("fanout")?.activitiesPerSec, TARGETS.fanoutActivitiesPerSec, true),
    sequential1000Ms: check(f("sequential1000")?.durationMs, TARGETS.sequential1000Ms, false),
    timerLatenessP50Ms: check(f("timers")?.fireLatenessP50Ms as number | undefined, TARGETS.timerLatenessP50Ms, false),
    singleP50Ms: check(f("single")?.p50Ms, TARGETS.singleP50Ms, false),
    peakRssMb: check(lines.length ? Math.max(...lines.map((l) => l.peakRssMb)) : undefined, TARGETS.peakRssMb, false),
  };
  out.targetsSqliteFile = Object.fromEntries(Object.entries(targets).filter(([, v]) => v !== undefined));
  out.reference = { name: "duroxide-node (Rust core)", ...REFERENCE };
  out.vsReferenceSqliteFile = Object.fromEntries(
    lines.filter((l) => l.store === "sqlite-file" && l.vsReference !== undefined).map((l) => [l.workload, l.vsReference]),
  );
  out.maxRssMbProcess = round(process.resourceUsage().maxRSS / 1024, 1);
  return out;
}

async function main(): Promise<void> {
  // `... | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  const args = parseArgs(process.argv.slice(2));
  const { workloads, calls, warmup, repeat, pragmas, tracing } = args;
  let { stores } = args;
  if (stores.includes("postgres")) {
    const problem = await probePostgres(PG_URL);
    if (problem) {
      process.stderr.write(`PostgreSQL unreachable at ${PG_URL} (${problem}): skipping the postgres store\n`);
      stores = stores.filter((s) => s !== "postgres");
    }
  }
  const lines: Line[] = [];
  // One unreported in-memory hello run first, so the first measured workload is not paying for
  // module loading and JIT warm-up (disable with --no-warmup).
  if (warmup === "memory") await runOne(ALL[0]!, "sqlite-memory", false, [], tracing !== "off");
  // --warmup=same (bench:compare --warm): each measured workload runs once first, unreported, on the
  // same store (in bench:compare's database, a schema of its own), so the figures are steady state.
  if (warmup === "same") for (const w of workloads) for (const s of stores) await runOne(w, s, false, pragmas, tracing === "on", "dx_warmup");
  for (const w of workloads) {
    for (const s of stores) {
      // With --repeat=N, report the run with the median duration (the machine may be shared).
      const modes = tracing === "both" ? [false, true] : [tracing === "on"];
      const runs: Line[][] = modes.map(() => []);
      for (let i = 0; i < repeat; i++) for (const [m, on] of modes.entries()) runs[m]!.push(await runOne(w, s, calls, pragmas, on));
      const medians = runs.map((rs) => {
        const sorted = [...rs].sort((a, b) => a.durationMs - b.durationMs);
        const line = sorted[Math.floor((sorted.length - 1) / 2)]!;
        if (repeat > 1) line.runDurationsMs = rs.map((r) => r.durationMs);
        if (pragmas.length > 0) line.pragmas = pragmas;
        lines.push(line);
        process.stdout.write(JSON.stringify(line) + "\n");
        return line;
      });
      if (medians.length === 2) {
        const [off, on] = medians as [Line, Line];
        // CPU per orchestration, median over each mode's runs: steadier than wall time on a shared machine.
        const cpu = runs.map((rs) => {
          const v = rs.map((r) => r.cpuMsPerOrch as number).sort((x, y) => x - y);
          return v[Math.floor((v.length - 1) / 2)]!;
        });
        process.stdout.write(
          JSON.stringify({
            workload: w.name,
            store: s,
            tracingOverhead: true,
            orchPerSecOff: off.orchPerSec,
            orchPerSecOn: on.orchPerSec,
            throughputLossPct: round((1 - on.orchPerSec / off.orchPerSec) * 100, 1),
            cpuMsPerOrchOffMedian: cpu[0],
            cpuMsPerOrchOnMedian: cpu[1],
            cpuPerOrchOverheadPct: round((cpu[1]! / cpu[0]! - 1) * 100, 1),
          }) + "\n",
        );
      }
    }
  }
  process.stdout.write(JSON.stringify(summary(lines)) + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
