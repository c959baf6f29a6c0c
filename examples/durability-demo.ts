// Durability demo (`npm run demo`): a workflow survives `kill -9` of the process running it.
//
//  1. This process (the "parent") creates a SQLite file in a temp dir.
//  2. It spawns a worker process (this same file with `--worker`) that starts a runtime and a
//     6-step workflow. Each step takes ~300 ms and appends lines to a side-effect log file.
//  3. When the log shows 3 finished steps (and step 4 under way), the parent kills the worker with
//     SIGKILL: no shutdown hook, no cleanup, whatever was in flight is lost.
//  4. The parent starts a fresh runtime on the same SQLite file. It replays the recorded history,
//     does not re-run the steps whose results were recorded, and finishes the rest.
//  5. It prints the side-effect log as evidence and exits 0 only if the workflow completed and no
//     step whose result was recorded before the kill ran again.
//
// At-least-once, honestly: a step that was *in flight* at the kill (started, result not yet
// recorded) runs again after the restart. That is why activities must be idempotent.
//
//   npm run demo            (or: npm run build && node dist/examples/durability-demo.js [--keep])
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client, Runtime, SqliteProvider, type OrchestrationContext, type ActivityContext } from "../src/index.js";

const INSTANCE_ID = "nightly-report";
const STEPS = ["extract orders", "extract refunds", "aggregate totals", "render charts", "build PDF", "email report"];
const STEP_MS = 300;
const KILL_AFTER_STEPS = 3;
/** The worker's leases are short so the fresh runtime can take over the in-flight step quickly. */
const WORKER_LOCK_MS = 1_000;

// ------------------------------------------------------------------------------ the workflow

interface StepInput {
  step: number;
  total: number;
  name: string;
}

/** Registers the workflow. Both processes register the same code: that is what resuming needs. */
function registerWorkflow(runtime: Runtime, logPath: string, say: (line: string) => void): void {
  // The side effect: lines appended to a file. A real step would write to a database or call an
  // API with an idempotency key; here the log lets us count exactly what ran, and where.
  runtime.registerActivity("RunStep", async (ctx: ActivityContext, s: StepInput) => {
    appendFileSync(logPath, `${new Date().toISOString()} pid=${process.pid} step=${s.step} started  ${s.name}\n`);
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    if (ctx.isCancelled()) throw new Error("cancelled");
    appendFileSync(logPath, `${new Date().toISOString()} pid=${process.pid} step=${s.step} finished ${s.name}\n`);
    say(`step ${s.step}/${s.total} done: ${s.name}`);
    return `${s.name}: ok`;
  });

  runtime.registerOrchestration("NightlyReport", async (ctx: OrchestrationContext, input: { steps: string[] }) => {
    const results: string[] = [];
    for (let i = 0; i < input.steps.length; i++) {
      const step: StepInput = { step: i + 1, total: input.steps.length, name: input.steps[i]! };
      results.push(await ctx.scheduleActivity<string>("RunStep", step));
      ctx.setCustomStatus(`${i + 1}/${input.steps.length} steps done`);
    }
    return { report: "nightly-report.pdf", steps: results };
  });
}

// ------------------------------------------------------------------------------ worker process

async function worker(dir: string): Promise<void> {
  const say = (line: string): void => console.log(`  [worker pid ${process.pid}] ${line}`);
  const provider = await SqliteProvider.open(`sqlite:${join(dir, "store.db")}`);
  const runtime = new Runtime(provider, {
    dispatcherPollIntervalMs: 20,
    workerLockTimeoutMs: WORKER_LOCK_MS,
    orchestratorLockTimeoutMs: WORKER_LOCK_MS,
    logLevel: "error",
  });
  registerWorkflow(runtime, join(dir, "side-effects.log"), say);
  await runtime.start();
  say("runtime started; starting orchestration 'NightlyReport' as '" + INSTANCE_ID + "'");
  await runtime.client.startOrchestration(INSTANCE_ID, "NightlyReport", { steps: STEPS });
  // Normally this process keeps serving; in the demo the parent kills it long before this returns.
  await runtime.client.waitForOrchestration(INSTANCE_ID, 60_000);
  say("workflow finished before anyone killed me");
  await runtime.shutdown();
  await provider.close();
}

// ------------------------------------------------------------------------------ parent process

interface LogLine {
  pid: number;
  step: number;
  event: "started" | "finished";
  text: string;
}

function readLog(path: string): LogLine[] {
  if (!existsSync(path)) return [];
  const out: LogLine[] = [];
  for (const text of readFileSync(path, "utf8").split("\n")) {
    const m = /pid=(\d+) step=(\d+) (started|finished)/.exec(text);
    if (m) out.push({ pid: Number(m[1]), step: Number(m[2]), event: m[3] as LogLine["event"], text });
  }
  return out;
}

export interface DemoResult {
  completed: boolean;
  output: unknown;
  killedPid: number;
  /** Steps whose completion the store had recorded when the worker died. */
  recordedBeforeKill: number;
  /** Steps whose side effect ran in both processes (only allowed for steps not yet recorded). */
  reRunSteps: number[];
  /** Recorded steps that ran again: must be empty. */
  violations: number[];
  ok: boolean;
}

export async function main(opts: { quiet?: boolean; keep?: boolean } = {}): Promise<DemoResult> {
  const say = opts.quiet ? (_: string) => undefined : (line: string) => console.log(line);
  const t0 = Date.now();
  const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const dir = mkdtempSync(join(tmpdir(), "duroxide-demo-"));
  const dbPath = join(dir, "store.db");
  const logPath = join(dir, "side-effects.log");

  say("Duroxide durability demo");
  say("========================");
  say(`SQLite store:     ${dbPath}`);
  say(`side-effect log:  ${logPath}`);
  say(`workflow:         ${STEPS.length} sequential steps of ~${STEP_MS} ms each`);
  say("");

  // 1. Spawn the worker process.
  const thisFile = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [thisFile, "--worker", dir], { stdio: ["ignore", "pipe", "inherit"] });
  const childPid = child.pid ?? -1;
  let childExit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on("exit", (code, signal) => {
      childExit = { code, signal };
      resolve();
    }),
  );
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      say(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  say(`[${elapsed()}] spawned worker process pid ${childPid}`);

  // 2. Wait until the log shows KILL_AFTER_STEPS finished steps and the next one under way, then
  //    SIGKILL the worker in the middle of that step.
  const deadline = Date.now() + 10_000;
  const readyToKill = (): boolean => {
    const log = readLog(logPath);
    return (
      log.filter((l) => l.event === "finished").length >= KILL_AFTER_STEPS &&
      log.some((l) => l.event === "started" && l.step === KILL_AFTER_STEPS + 1)
    );
  };
  while (!readyToKill()) {
    if (childExit !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      say(`worker ended or stalled before step ${KILL_AFTER_STEPS} (exit ${JSON.stringify(childExit)}); demo failed`);
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
      return { completed: false, output: null, killedPid: childPid, recordedBeforeKill: 0, reRunSteps: [], violations: [], ok: false };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, STEP_MS / 3)); // mid-step
  child.kill("SIGKILL");
  await exited;
  const exit = childExit as { code: number | null; signal: NodeJS.Signals | null } | null;
  say("");
  say(`[${elapsed()}] 💥 KILLED worker pid ${childPid} with SIGKILL (signal: ${exit?.signal ?? "none"}) — no shutdown, no cleanup`);
  const inFlightAtKill = readLog(logPath)
    .filter((l) => l.pid === childPid && l.event === "started")
    .map((l) => l.step)
    .filter((s) => !readLog(logPath).some((l) => l.pid === childPid && l.event === "finished" && l.step === s));

  // 3. Look at what the store knows, then resume on a fresh runtime in this process.
  const provider = await SqliteProvider.open(`sqlite:${dbPath}`);
  const c = new Client(provider);
  const before = await c.getStatus(INSTANCE_ID);
  const historyAtKill = await c.readHistory(INSTANCE_ID);
  const recordedBeforeKill = historyAtKill.filter((e) => e.type === "ActivityCompleted").length;
  say(`[${elapsed()}] the store says: instance '${INSTANCE_ID}' is ${before.status} (${before.customStatus ?? "no status"}),`);
  say(`         ${historyAtKill.length} history events, ${recordedBeforeKill} step results recorded`);
  if (inFlightAtKill.length > 0)
    say(`         step ${inFlightAtKill.join(", ")} was in flight in the dead process (started, not finished)`);

  const sayResumed = (line: string): void => say(`  [fresh runtime pid ${process.pid}] ${line}`);
  const runtime = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
  registerWorkflow(runtime, logPath, sayResumed);
  say("");
  say(`[${elapsed()}] starting a fresh runtime on the same SQLite file (pid ${process.pid}) — RESUMING`);
  if (inFlightAtKill.length > 0)
    say(`         (the dead worker's lease on step ${inFlightAtKill.join(", ")} expires within ${WORKER_LOCK_MS} ms; then it is retried)`);
  await runtime.start();

  let completed = false;
  let output: unknown = null;
  try {
    const result = await c.waitForOrchestration(INSTANCE_ID, 15_000);
    completed = result.status === "Completed";
    output = completed ? result.output : result.error;
    say("");
    say(`[${elapsed()}] workflow ${result.status}: ${JSON.stringify(output)}`);
  } catch (err) {
    say(`[${elapsed()}] workflow did not complete: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await runtime.shutdown();
    await provider.close();
  }

  // 4. The evidence: every line the steps appended, in order.
  const log = readLog(logPath);
  say("");
  say("side-effect log (one 'started' and one 'finished' line per execution of a step):");
  for (const l of log) say(`  ${l.pid === childPid ? "worker " : "resumed"} | ${l.text}`);

  const runsOf = (step: number, pid: number): number =>
    log.filter((l) => l.step === step && l.pid === pid && l.event === "started").length;
  const reRunSteps: number[] = [];
  const violations: number[] = [];
  for (let s = 1; s <= STEPS.length; s++) {
    if (runsOf(s, childPid) > 0 && runsOf(s, process.pid) > 0) {
      reRunSteps.push(s);
      if (s <= recordedBeforeKill) violations.push(s);
    }
  }
  const finishedSteps = new Set(log.filter((l) => l.event === "finished").map((l) => l.step));
  const allFinished = STEPS.every((_, i) => finishedSteps.has(i + 1));

  say("");
  say("verdict:");
  const killedSteps = [...new Set(log.filter((l) => l.pid === childPid && l.event === "finished").map((l) => l.step))];
  say(`  steps ${killedSteps.join(", ")} finished in the killed worker; ${recordedBeforeKill} of them were recorded in the store`);
  if (violations.length === 0) say(`  ✔ no recorded step ran again after the restart`);
  else say(`  ✘ recorded step(s) ${violations.join(", ")} ran again after the restart — this is a bug`);
  for (const s of reRunSteps.filter((x) => !violations.includes(x))) {
    const finishedInWorker = log.some((l) => l.step === s && l.pid === childPid && l.event === "finished");
    say(
      finishedInWorker
        ? `  ↻ step ${s} finished its side effect just before the kill but its result was not yet recorded, so it ran again (at-least-once: activities must be idempotent)`
        : `  ↻ step ${s} was in flight at the kill (started, never finished), so it ran again after the restart — expected; activities must be idempotent`,
    );
  }
  if (allFinished) say(`  ✔ all ${STEPS.length} steps finished`);
  else say(`  ✘ not every step finished`);
  const ok = completed && violations.length === 0 && allFinished;
  say(ok ? `  ✔ workflow completed across a kill -9 (total ${elapsed()})` : "  ✘ demo FAILED");

  if (opts.keep) say(`\nkept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return { completed, output, killedPid: childPid, recordedBeforeKill, reRunSteps, violations, ok };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const args = process.argv.slice(2);
  if (args[0] === "--worker") {
    worker(args[1]!).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  } else {
    main({ keep: args.includes("--keep") }).then(
      (r) => {
        process.exitCode = r.ok ? 0 : 1;
      },
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  }
}
