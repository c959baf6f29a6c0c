// Side-by-side benchmark: our PostgreSQL store against DBOS Transact on the same PostgreSQL server.
// Usage: node dist/bench/compare.js [workload...] [--repeat=N] [--warm]   (npm run bench:compare)
// Each run is a fresh child process with a database of its own; the two systems alternate (and
// swap who goes first each round) so that load from elsewhere on the machine hits both alike.
// Prints one JSON line per run, then a table of medians with the ratios. By default each process
// is cold (its first run pays module loading and JIT warm-up, as a freshly deployed process does);
// --warm runs each workload once unreported first in the same process, for steady-state figures
// (the server-side figures then average over both runs).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { probePostgres } from "../src/providers/postgres/index.js";
import { PgUsageSampler, ThrowawayDatabase, perOrchestration } from "./pgstats.js";
import { round } from "./stats.js";

type System = "duroxide" | "dbos";
type Row = Record<string, unknown> & { workload: string; orchestrations: number; durationMs: number; cpuMs: number };

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, "..", "..");
const compareDir = join(root, "bench", "compare");

/** How each workload is judged: the figure, and whether more is better. */
const METRIC: Record<string, { key: string; unit: string; higherIsBetter: boolean; target: Target }> = {
  hello: { key: "orchPerSec", unit: "orch/s", higherIsBetter: true, target: { timesBetter: 2 } },
  // Issue 15: three times faster than the 1,300 ms measured when the issue was filed.
  fanout: { key: "durationMs", unit: "ms", higherIsBetter: false, target: { atMost: 1_300 / 3 } },
  sequential500: { key: "durationMs", unit: "ms", higherIsBetter: false, target: { timesBetter: 2 } },
  single: { key: "p50Ms", unit: "ms p50", higherIsBetter: false, target: { atMost: 3 } },
  timers: { key: "completionLatenessP50Ms", unit: "ms late p50", higherIsBetter: false, target: { atMost: 20 } },
};

/** Issue 15's PostgreSQL targets: a ratio against DBOS, or an absolute bound on our figure. */
type Target = { timesBetter: number } | { atMost: number };

function targetText(t: Target): string {
  return "timesBetter" in t ? `>=${t.timesBetter}x` : `<=${fmt(t.atMost)}`;
}

function targetMet(t: Target, ours: number, ratio: number): boolean {
  return "timesBetter" in t ? ratio >= t.timesBetter : ours <= t.atMost;
}

function parseArgs(argv: string[]): { workloads: string[]; repeat: number; warm: boolean } {
  let repeat = 3;
  let warm = false;
  const workloads: string[] = [];
  for (const a of argv) {
    if (a.startsWith("--repeat=")) repeat = Number(a.slice("--repeat=".length));
    else if (a === "--warm") warm = true;
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else if (!METRIC[a]) throw new Error(`unknown workload ${a}; known: ${Object.keys(METRIC).join(", ")}`);
    else workloads.push(a);
  }
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error("--repeat must be a positive integer");
  return { workloads: workloads.length ? workloads : Object.keys(METRIC), repeat, warm };
}

function ensureDbosInstalled(): void {
  if (existsSync(join(compareDir, "node_modules", "@dbos-inc", "dbos-sdk"))) return;
  process.stderr.write("installing the benchmark-only DBOS SDK into bench/compare (npm ci)...\n");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: compareDir, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm ci in bench/compare failed");
}

/** Runs a child process and returns the JSON line it printed for `workload`. */
function runChild(args: string[], workload: string, env: NodeJS.ProcessEnv = process.env): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{") && (JSON.parse(l) as { workload?: string }).workload === workload);
      if (code !== 0 || !line) reject(new Error(`${args.join(" ")} exited ${code}: ${err.trim().split("\n").slice(-5).join(" | ")}`));
      else resolve(JSON.parse(line) as Row);
    });
  });
}

/** One run of `system` in a database of its own, with the server's share sampled from here. */
async function runSystem(system: System, workload: string, warm: boolean): Promise<Row> {
  const db = await ThrowawayDatabase.create(PG_URL, `dxcmp_${system}`);
  const sampler = new PgUsageSampler(PG_URL, db.name);
  try {
    await sampler.start();
    const row =
      system === "duroxide"
        ? await runChild([join(here, "run.js"), workload, "--store=postgres", warm ? "--warmup=same" : "--no-warmup"], workload, { ...process.env, DX_BENCH_PG_DATABASE_URL: db.url })
        : await runChild([join(compareDir, "dbos.mjs"), workload, db.url, ...(warm ? ["--warm"] : [])], workload);
    const usage = await sampler.stop();
    // The sampler saw the warm-up run too: the server's share is averaged over both.
    return { ...row, cpuMsPerOrch: round(row.cpuMs / row.orchestrations, 3), ...perOrchestration(usage, row.orchestrations * (warm ? 2 : 1)) };
  } finally {
    await sampler.stop().catch(() => undefined);
    await db.drop();
  }
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? String(Math.round(x)) : String(round(x, 2));
}

async function main(): Promise<void> {
  const { workloads, repeat, warm } = parseArgs(process.argv.slice(2));
  const problem = await probePostgres(PG_URL);
  if (problem) throw new Error(`PostgreSQL unreachable at ${PG_URL}: ${problem}`);
  ensureDbosInstalled();
  const rows: Record<string, Record<System, Row[]>> = {};
  for (const w of workloads) {
    rows[w] = { duroxide: [], dbos: [] };
    for (let i = 0; i < repeat; i++) {
      const order: System[] = i % 2 === 0 ? ["duroxide", "dbos"] : ["dbos", "duroxide"];
      for (const sys of order) {
        const row = await runSystem(sys, w, warm);
        rows[w]![sys].push(row);
        process.stdout.write(JSON.stringify({ system: sys, round: i + 1, ...row }) + "\n");
      }
    }
  }
  const header = ["workload", "figure", "duroxide", "dbos", "ratio", "cpu ms/orch (node) ours | dbos", "pg cpu ms/orch ours | dbos", "statements/orch ours | dbos", "commits/orch ours | dbos", "target", "met"];
  const table: string[][] = [header];
  const summary: Record<string, unknown> = { summary: "compare", repeat, warm, pgUrl: PG_URL.replace(/\/\/[^@]*@/, "//") };
  for (const w of workloads) {
    const m = METRIC[w]!;
    const med = (sys: System, key: string) => median(rows[w]![sys].map((r) => Number(r[key])));
    const ours = med("duroxide", m.key);
    const theirs = med("dbos", m.key);
    // "ratio" reads as "how many times better we are": >1 means ahead.
    const ratio = m.higherIsBetter ? ours / theirs : theirs / ours;
    const met = targetMet(m.target, ours, ratio);
    const pair = (key: string) => `${fmt(med("duroxide", key))} | ${fmt(med("dbos", key))}`;
    table.push([w, m.unit, fmt(ours), fmt(theirs), `${fmt(ratio)}x`, pair("cpuMsPerOrch"), pair("pgBackendCpuMsPerOrch"), pair("pgStatementsPerOrch"), pair("pgCommitsPerOrch"), targetText(m.target), met ? "yes" : "no"]);
    summary[w] = { figure: m.unit, duroxide: ours, dbos: theirs, timesBetter: round(ratio, 2), target: targetText(m.target), met };
  }
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) process.stdout.write(r.map((v, c) => v.padEnd(widths[c]!)).join("  ") + "\n");
  process.stdout.write(JSON.stringify(summary) + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:compare failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
