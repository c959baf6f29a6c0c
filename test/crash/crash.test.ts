// Crash recovery: a child process runs the runtime on a SQLite file and is killed with SIGKILL
// mid-flight; a fresh runtime in this process resumes from the file. Activities whose completion
// was in history at the kill must not run again; activities in flight may run again (at-least-once).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { Client, Runtime, SqliteProvider, type HistoryEvent, type Provider } from "../../src/index.js";
import { PostgresProvider, probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import {
  CRASH_RUNTIME_OPTIONS,
  PIPELINE_STEPS,
  SEQUENCE_STEPS,
  SLEEPER_TIMER_MS,
  completedSteps,
  expectedPipelineOutput,
  register,
} from "./app.js";

const CHILD = fileURLToPath(new URL("./crash-child.js", import.meta.url));

interface Child {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  /** What the child printed up to "started". */
  stdout: string;
}

function spawnChild(scenario: string, db: string, log: string, n: number): Promise<Child> {
  const proc = spawn(process.execPath, [CHILD, "--crash-child", scenario, db, log, String(n)], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("started\n")) resolve({ proc, exited, stderr: () => err, stdout: out });
    });
    void exited.then(({ code, signal }) => reject(new Error(`child exited early (code ${code}, signal ${signal}): ${err}`)));
  });
}

async function killHard(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  process.kill(child.proc.pid!, "SIGKILL");
  const r = await child.exited;
  assert.equal(r.signal, "SIGKILL");
}

/** Side-effect log: how many times each `instance:step` ran. */
function readLog(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `; child stderr: ${child.stderr()}` : ""}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tempStore(): { dir: string; db: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), "dx-crash-"));
  return { dir, db: join(dir, "store.db"), log: join(dir, "side-effects.log") };
}

describe("crash recovery: SIGKILL of a runtime on a SQLite file", () => {
  it("pipeline (activities, a pending timer, a fan-out): completed work is not redone; everything finishes", { timeout: 30_000 }, async (t) => {
    const { dir, db, log } = tempStore();
    const n = 20;
    const ids = Array.from({ length: n }, (_, i) => `pipeline-${i}`);
    let child: Child | null = null;
    let provider: SqliteProvider | null = null;
    let runtime: Runtime | null = null;
    try {
      child = await spawnChild("pipeline", db, log, n);
      // A second connection on the same file, reading while the child writes.
      provider = await SqliteProvider.open(`sqlite:${db}`);
      const client = new Client(provider);
      const pendingTimers = async () => {
        let k = 0;
        for (const id of ids) {
          const h = await client.readHistory(id);
          if (h.some((e) => e.type === "TimerCreated") && !h.some((e) => e.type === "TimerFired")) k++;
        }
        return k;
      };
      // Partial progress: some instances in their fan-out, others waiting on the timer or still in
      // their first steps; nothing near the end.
      await waitUntil(
        "partial progress: a fan-out under way and timers pending",
        async () => [...readLog(log).keys()].some((l) => /:f\d$/.test(l)) && (await pendingTimers()) >= 1,
        10_000,
        child,
      );
      await killHard(child);
      const logAtKill = readLog(log);

      // What the store says had completed when the process died (read before anything resumes).
      const doneAtKill = new Map<string, Set<string>>();
      let timersPending = 0;
      for (const id of ids) {
        const status = await client.getStatus(id);
        assert.notEqual(status.status, "Completed", `${id} already completed at kill: kill came too late to test anything`);
        const h = await client.readHistory(id);
        doneAtKill.set(id, new Set(completedSteps(h)));
        if (h.some((e) => e.type === "TimerCreated") && !h.some((e) => e.type === "TimerFired")) timersPending++;
      }
      const completedAtKill = [...doneAtKill.values()].reduce((s, x) => s + x.size, 0);
      assert.ok(completedAtKill > 0, "some activity completions must be in history at kill");
      assert.ok(completedAtKill < n * PIPELINE_STEPS.length, "not everything may be done at kill");
      assert.ok(timersPending > 0, "some instances must be waiting on their durable timer at kill");

      // Resume in this process on the same file.
      runtime = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
      register(runtime, log);
      await runtime.start();
      for (const id of ids) {
        const r = await client.waitForOrchestration(id, 20_000);
        assert.equal(r.status, "Completed", `${id}: ${r.error ?? ""}`);
        assert.deepEqual(r.output, expectedPipelineOutput(id));
      }

      const logAfter = readLog(log);
      let rerun = 0;
      for (const id of ids) {
        const done = doneAtKill.get(id)!;
        for (const step of PIPELINE_STEPS) {
          const key = `${id}:${step}`;
          const count = logAfter.get(key) ?? 0;
          if (done.has(step)) {
            assert.equal(count, 1, `${key} was completed in history at the kill, yet ran ${count} times`);
          } else {
            assert.ok(count >= 1 && count <= 2, `${key} ran ${count} times (expected once, or twice if in flight at the kill)`);
            if (count === 2) {
              rerun++;
              assert.equal(logAtKill.get(key), 1, `${key} ran twice but had not run before the kill`);
            }
          }
        }
        // The final history records each step's completion exactly once.
        const h: HistoryEvent[] = await client.readHistory(id);
        assert.deepEqual(completedSteps(h).sort(), [...PIPELINE_STEPS].sort(), `${id}: completions in final history`);
      }
      const fanoutAtKill = [...doneAtKill.values()].reduce((s, x) => s + [...x].filter((st) => st.startsWith("f")).length, 0);
      t.diagnostic(
        `at kill: ${completedAtKill} of ${n * PIPELINE_STEPS.length} completions in history (${fanoutAtKill} fan-out), ${timersPending} timers pending, ` +
          `${[...logAtKill.values()].reduce((a, b) => a + b, 0)} log lines; after resume: ${rerun} in-flight steps ran again`,
      );
    } finally {
      if (child) await killHard(child).catch(() => undefined);
      await runtime?.shutdown(200);
      await provider?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kill during a long timer wait: the resumed runtime fires the timer and finishes", { timeout: 30_000 }, async (t) => {
    const { dir, db, log } = tempStore();
    const n = 5;
    const ids = Array.from({ length: n }, (_, i) => `sleeper-${i}`);
    let child: Child | null = null;
    let provider: SqliteProvider | null = null;
    let runtime: Runtime | null = null;
    try {
      child = await spawnChild("sleeper", db, log, n);
      // A second connection on the same file, reading while the child writes.
      provider = await SqliteProvider.open(`sqlite:${db}`);
      const client = new Client(provider);
      await waitUntil(
        "every instance waiting on its timer",
        async () => {
          for (const id of ids) if (!(await client.readHistory(id)).some((e) => e.type === "TimerCreated")) return false;
          return true;
        },
        10_000,
        child,
      );
      await killHard(child);
      const killedAt = Date.now();

      const fireAt = new Map<string, number>();
      for (const id of ids) {
        const h = await client.readHistory(id);
        const created = h.find((e) => e.type === "TimerCreated");
        assert.ok(created && created.type === "TimerCreated");
        assert.ok(!h.some((e) => e.type === "TimerFired"), `${id}: timer fired before the kill`);
        assert.ok(created.fireAtMs > killedAt, `${id}: timer was due before the kill`);
        assert.deepEqual(completedSteps(h), ["a"]);
        fireAt.set(id, created.fireAtMs);
      }

      runtime = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
      register(runtime, log);
      await runtime.start();
      const lateness: number[] = [];
      for (const id of ids) {
        const r = await client.waitForOrchestration(id, 20_000);
        assert.equal(r.status, "Completed", `${id}: ${r.error ?? ""}`);
        assert.deepEqual(r.output, [`a@${id}`, `b@${id}`]);
        const h = await client.readHistory(id);
        const fired = h.find((e) => e.type === "TimerFired");
        assert.ok(fired && fired.type === "TimerFired", `${id}: no TimerFired in history`);
        assert.equal(fired.fireAtMs, fireAt.get(id));
        assert.ok(fired.timestampMs >= fired.fireAtMs, `${id}: timer fired early`);
        lateness.push(fired.timestampMs - fired.fireAtMs);
        assert.deepEqual(completedSteps(h), ["a", "b"]);
      }
      const counts = readLog(log);
      for (const id of ids) {
        assert.equal(counts.get(`${id}:a`), 1, `${id}:a ran ${counts.get(`${id}:a`)} times`);
        assert.equal(counts.get(`${id}:b`), 1, `${id}:b ran ${counts.get(`${id}:b`)} times`);
      }
      t.diagnostic(`timer ${SLEEPER_TIMER_MS} ms; fired late by ${lateness.join(", ")} ms after the resume`);
    } finally {
      if (child) await killHard(child).catch(() => undefined);
      await runtime?.shutdown(200);
      await provider?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const pgProblem = await probePostgres(PG_URL);
const pgSchemas = pgProblem === null ? new ThrowawaySchemas(PG_URL, `dx_crash_${process.pid}`) : null;
after(async () => {
  await pgSchemas?.cleanup();
});

// Sequential activities: each completion is committed with the turn it causes (ackWorkItemWithTurn)
// in the killed process. Whatever the kill interrupted, the resumed runtime must finish every
// instance with each step run once, except the one step per instance that may have been in flight.
for (const store of ["sqlite", "postgres"] as const) {
  describe(`crash recovery: SIGKILL mid-sequence (${store})`, { skip: store === "postgres" && pgProblem !== null ? String(pgProblem) : false }, () => {
    it("each completed step ran once; at most the step in flight at the kill ran again", { timeout: 60_000 }, async (t) => {
      const { dir, db, log } = tempStore();
      const schema = store === "postgres" ? pgSchemas!.newSchemaName() : null;
      const where = schema !== null ? `pg:${PG_URL}#${schema}` : db;
      const n = 3;
      const ids = Array.from({ length: n }, (_, i) => `sequence-${i}`);
      let child: Child | null = null;
      let provider: Provider | null = null;
      let runtime: Runtime | null = null;
      try {
        child = await spawnChild("sequence", where, log, n);
        provider = schema !== null ? await PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 4 }) : await SqliteProvider.open(`sqlite:${db}`);
        const client = new Client(provider);
        const progress = (): number[] => ids.map((id) => [...readLog(log).keys()].filter((l) => l.startsWith(`${id}:`)).length);
        await waitUntil("every instance a few steps in", () => progress().every((k) => k >= 4), 20_000, child);
        await killHard(child);
        const logAtKill = readLog(log);
        const doneAtKill = new Map<string, Set<string>>();
        for (const id of ids) {
          const status = await client.getStatus(id);
          assert.notEqual(status.status, "Completed", `${id} already completed at kill`);
          doneAtKill.set(id, new Set(completedSteps(await client.readHistory(id))));
        }

        runtime = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
        register(runtime, log);
        await runtime.start();
        const steps = Array.from({ length: SEQUENCE_STEPS }, (_, i) => `q${i}`);
        let rerun = 0;
        for (const id of ids) {
          const r = await client.waitForOrchestration(id, 40_000);
          assert.equal(r.status, "Completed", `${id}: ${r.error ?? ""}`);
          assert.deepEqual(r.output, steps.map((s) => `${s}@${id}`));
          const h: HistoryEvent[] = await client.readHistory(id);
          assert.deepEqual(completedSteps(h), steps, `${id}: each step's completion is in history once, in order`);
          const logAfter = readLog(log);
          let twice = 0;
          for (const step of steps) {
            const key = `${id}:${step}`;
            const count = logAfter.get(key) ?? 0;
            if (doneAtKill.get(id)!.has(step)) assert.equal(count, 1, `${key} was in history at the kill, yet ran ${count} times`);
            else if (count !== 1) {
              assert.equal(count, 2, `${key} ran ${count} times`);
              assert.equal(logAtKill.get(key), 1, `${key} ran twice but had not run before the kill`);
              twice++;
            }
          }
          assert.ok(twice <= 1, `${id}: ${twice} steps ran twice; only the one in flight may`);
          rerun += twice;
        }
        t.diagnostic(`at kill: ${[...doneAtKill.values()].map((d) => d.size).join(", ")} steps in history; ${rerun} in-flight steps ran again`);
      } finally {
        if (child) await killHard(child).catch(() => undefined);
        await runtime?.shutdown(200);
        await provider?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

// Starts that run their first turn in the starting process and commit with it
// (createInstanceWithTurn): the child is killed right after its start calls resolved, its first
// activities leased to itself and under way. Every resolved start must be a stored, running
// instance that a new runtime finishes, with each completed step run once.
for (const store of ["sqlite", "postgres"] as const) {
  describe(`crash recovery: SIGKILL right after starts (${store})`, { skip: store === "postgres" && pgProblem !== null ? String(pgProblem) : false }, () => {
    it("every started instance is stored and finishes; each completed step ran once", { timeout: 60_000 }, async (t) => {
      const { dir, db, log } = tempStore();
      const schema = store === "postgres" ? pgSchemas!.newSchemaName() : null;
      const where = schema !== null ? `pg:${PG_URL}#${schema}` : db;
      const n = 20;
      const ids = Array.from({ length: n }, (_, i) => `starts-${i}`);
      let child: Child | null = null;
      let provider: Provider | null = null;
      let runtime: Runtime | null = null;
      try {
        child = await spawnChild("starts", where, log, n);
        await killHard(child);
        const logAtKill = readLog(log);
        assert.match(child.stdout, new RegExp(`start turns ${n}\\n`), "every start ran its first turn in the child");
        provider = schema !== null ? await PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 4 }) : await SqliteProvider.open(`sqlite:${db}`);
        const client = new Client(provider);
        const doneAtKill = new Map<string, Set<string>>();
        for (const id of ids) {
          const status = await client.getStatus(id);
          assert.equal(status.status, "Running", `${id}: a resolved start must be a stored, running instance`);
          const h = await client.readHistory(id);
          assert.equal(h[0]?.type, "OrchestrationStarted");
          assert.ok(h.some((e) => e.type === "ActivityScheduled"), `${id}: its first turn is stored`);
          doneAtKill.set(id, new Set(completedSteps(h)));
        }

        runtime = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
        register(runtime, log);
        await runtime.start();
        for (const id of ids) {
          const r = await client.waitForOrchestration(id, 40_000);
          assert.equal(r.status, "Completed", `${id}: ${r.error ?? ""}`);
          assert.deepEqual(r.output, expectedPipelineOutput(id));
        }
        const logAfter = readLog(log);
        let rerun = 0;
        for (const id of ids) {
          for (const step of PIPELINE_STEPS) {
            const key = `${id}:${step}`;
            const count = logAfter.get(key) ?? 0;
            if (doneAtKill.get(id)!.has(step)) assert.equal(count, 1, `${key} was completed in history at the kill, yet ran ${count} times`);
            else {
              assert.ok(count >= 1 && count <= 2, `${key} ran ${count} times (expected once, or twice if in flight at the kill)`);
              if (count === 2) {
                rerun++;
                assert.equal(logAtKill.get(key), 1, `${key} ran twice but had not run before the kill`);
              }
            }
          }
          assert.deepEqual(completedSteps(await client.readHistory(id)).sort(), [...PIPELINE_STEPS].sort(), `${id}: completions in final history`);
        }
        const completedAtKill = [...doneAtKill.values()].reduce((s, x) => s + x.size, 0);
        t.diagnostic(`at kill: ${completedAtKill} completions in history, ${logAtKill.size} steps logged; after resume: ${rerun} in-flight steps ran again`);
      } finally {
        if (child) await killHard(child).catch(() => undefined);
        await runtime?.shutdown(200);
        await provider?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
