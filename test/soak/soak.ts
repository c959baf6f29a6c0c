// Soak under faults (run by hand, not in CI: minutes long, and --restarts takes the shared
// PostgreSQL server away):
//   node dist/test/soak/soak.js --store sqlite|postgres [--procs 3] [--kills 50] [--restarts 0]
//                               [--instances 200] [--kill-every-ms 700]
// Runs `procs` runtime processes on one store, starts instances at a steady pace while a random
// process is SIGKILLed (and replaced) every ~kill-every-ms, optionally restarts PostgreSQL
// `restarts` times under that load, then waits for every instance and prints the figures:
// instances completed, process crashes (exits we did not cause), re-runs of recorded activities
// (an attempt started after its completion was in history), at-least-once re-runs of in-flight
// activities, and recovery after each restart (server up -> first history write, and -> first activity start).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Client, SqliteProvider, type Provider } from "../../src/index.js";
import { ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { acquireRestartLock, cannotControl, ensureServerUp, restartServer } from "../outage/pgControl.js";
import { SOAK_STEPS } from "./app.js";

const CHILD = fileURLToPath(new URL("./soak-child.js", import.meta.url));
const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const kind = arg("store", "sqlite") as "sqlite" | "postgres";
const procs = Number(arg("procs", "3"));
const kills = Number(arg("kills", "50"));
const restarts = Number(arg("restarts", "0"));
const instances = Number(arg("instances", "200"));
const killEveryMs = Number(arg("kill-every-ms", "700"));

interface Proc {
  proc: ChildProcess;
  killedByUs: boolean;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dx-soak-"));
  const log = join(dir, "journal.log");
  let url = `sqlite:${join(dir, "store.db")}`;
  let schema = "-";
  let schemas: ThrowawaySchemas | null = null;
  let provider: Provider;
  if (kind === "sqlite") provider = await SqliteProvider.open(url);
  else {
    url = PG_URL;
    schemas = new ThrowawaySchemas(PG_URL, `dx_soak_${process.pid}`);
    const p = await schemas.open(undefined, { maxConnections: 2 });
    schema = p.schema;
    provider = p;
  }
  if (restarts > 0) {
    const why = kind === "postgres" ? await cannotControl(PG_URL) : "restarts need --store postgres";
    if (why !== null) throw new Error(`cannot restart the server: ${why}`);
  }
  const client = new Client(provider);
  let crashes = 0;
  const crashLogs: string[] = [];
  const live: Proc[] = [];

  const spawnOne = (): Promise<void> =>
    new Promise((resolve) => {
      const proc = spawn(process.execPath, [CHILD, "--soak-child", kind, url, schema, log], { stdio: ["ignore", "pipe", "pipe"] });
      const p: Proc = { proc, killedByUs: false };
      let err = "";
      proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      proc.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      proc.on("exit", (code, signal) => {
        const i = live.indexOf(p);
        if (i >= 0) live.splice(i, 1);
        if (!p.killedByUs) {
          crashes++;
          crashLogs.push(`exit ${code} ${signal}: ${err.slice(-2_000)}`);
          resolve();
          if (!stopping) void spawnOne();
        }
      });
      live.push(p);
    });
  let stopping = false;
  await Promise.all(Array.from({ length: procs }, () => spawnOne()));

  const t0 = Date.now();
  const ids = Array.from({ length: instances }, (_, i) => `soak-${i}`);
  const killPhaseMs = kills * killEveryMs;
  // Starts spread over the kill phase, so instances are in flight at every kill.
  const starting = (async () => {
    for (const [i, id] of ids.entries()) {
      for (;;) {
        try {
          await client.startOrchestration(id, "Soak", null);
          break;
        } catch (err) {
          if ((err as { code?: string }).code === "InstanceAlreadyExists") break;
          await sleep(200); // the store may be restarting
        }
      }
      const due = t0 + ((i + 1) * killPhaseMs) / ids.length;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  })();

  const restartTimes: number[] = [];
  const restarting = (async () => {
    if (restarts === 0) return;
    const release = await acquireRestartLock(600_000);
    try {
      for (let r = 0; r < restarts; r++) {
        await sleep(killPhaseMs / (restarts + 1));
        const c = new pg.Client({ connectionString: PG_URL });
        c.on("error", () => undefined);
        await c.connect().then(() => c.query("CHECKPOINT")).catch(() => undefined);
        await c.end().catch(() => undefined);
        const down = Date.now();
        await restartServer();
        await ensureServerUp(PG_URL);
        restartTimes.push(Date.now());
        process.stderr.write(`restart ${r + 1}: down ${Date.now() - down} ms\n`);
      }
    } finally {
      await ensureServerUp(PG_URL);
      release();
    }
  })();

  let killed = 0;
  while (killed < kills) {
    await sleep(killEveryMs * (0.5 + Math.random()));
    const victim = live[Math.floor(Math.random() * live.length)];
    if (!victim) continue;
    victim.killedByUs = true;
    victim.proc.kill("SIGKILL");
    killed++;
    await spawnOne();
  }
  await starting;
  await restarting;
  const killsDone = Date.now();

  const statuses = new Map<string, string>();
  const deadline = Date.now() + 300_000;
  let lastDone = killsDone;
  for (const id of ids) {
    const s = await client.waitForOrchestration(id, Math.max(1, deadline - Date.now())).catch((e: Error) => ({ status: `wait failed: ${e.message}`, output: null }));
    statuses.set(id, s.status);
    lastDone = Math.max(lastDone, Date.now());
  }
  stopping = true;

  // Journal: starts per activity key, and when history recorded each completion.
  const starts = new Map<string, number[]>();
  const firstStartAfter: number[] = restartTimes.map(() => Infinity);
  if (existsSync(log))
    for (const line of readFileSync(log, "utf8").split("\n")) {
      const [tag, key, , ms] = line.split(" ");
      if (tag === "S" && key) {
        starts.set(key, [...(starts.get(key) ?? []), Number(ms)]);
        restartTimes.forEach((up, i) => {
          if (Number(ms) >= up && Number(ms) < firstStartAfter[i]!) firstStartAfter[i] = Number(ms);
        });
      }
    }
  let recordedReruns = 0;
  let inflightReruns = 0;
  let firstWriteAfter: number[] = restartTimes.map(() => Infinity);
  for (const id of ids) {
    const hist = await client.readHistory(id);
    const scheduled = new Map<number, string>();
    for (const e of hist) {
      if (e.type === "ActivityScheduled") scheduled.set(e.eventId, JSON.parse(e.input) as string);
      restartTimes.forEach((up, i) => {
        if (e.timestampMs >= up && e.timestampMs < firstWriteAfter[i]!) firstWriteAfter[i] = e.timestampMs;
      });
      if (e.type === "ActivityCompleted" && e.sourceEventId !== null) {
        const key = `${id}:${scheduled.get(e.sourceEventId)}`;
        const s = starts.get(key) ?? [];
        recordedReruns += s.filter((t) => t > e.timestampMs).length;
        inflightReruns += s.filter((t) => t <= e.timestampMs).length - 1;
      }
    }
  }
  const completed = [...statuses.values()].filter((s) => s === "Completed").length;
  const summary = {
    store: kind,
    processes: procs,
    kills: killed,
    restarts: restartTimes.length,
    instances,
    completed,
    notCompleted: [...statuses].filter(([, s]) => s !== "Completed").slice(0, 5),
    crashes,
    recordedActivityReruns: recordedReruns,
    inflightActivityReruns: inflightReruns,
    activitiesPerInstance: SOAK_STEPS.length,
    recoveryAfterRestartMs: firstWriteAfter.map((t, i) => (Number.isFinite(t) ? t - restartTimes[i]! : null)),
    firstActivityStartAfterRestartMs: firstStartAfter.map((t, i) => (Number.isFinite(t) ? t - restartTimes[i]! : null)),
    lastCompletionAfterLastKillMs: lastDone - killsDone,
    totalMs: Date.now() - t0,
  };
  console.log(JSON.stringify(summary, null, 2));
  if (crashLogs.length > 0) console.log(crashLogs.join("\n---\n"));
  for (const p of [...live]) {
    p.killedByUs = true;
    p.proc.kill("SIGKILL");
  }
  await sleep(200);
  await (provider as { close(): Promise<void> }).close();
  await schemas?.cleanup();
  rmSync(dir, { recursive: true, force: true });
  process.exit(completed === instances && crashes === 0 && recordedReruns === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}
