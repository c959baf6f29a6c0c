// Many runtime processes on one PostgreSQL schema: every instance completes once, no activity whose
// completion was recorded runs again, and killing a process with SIGKILL loses nothing.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../../src/index.js";
import { PostgresProvider, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { PG_URL, PROVIDERS } from "../e2e/harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, "worker-process.js");

function spawnWorker(schema: string, log: string): Promise<ChildProcess> {
  const child = fork(WORKER, [PG_URL, schema, log], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

function logLines(log: string): string[] {
  return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
}

describe("many runtime processes on one PostgreSQL schema", { skip: PROVIDERS.includes("postgres") ? false : "PostgreSQL unavailable" }, () => {
  const schemas = new ThrowawaySchemas(PG_URL, `dx_mp_${process.pid}`);
  const dir = mkdtempSync(join(tmpdir(), "dx-mp-"));
  after(async () => {
    await schemas.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("300 instances across 3 processes, one killed with SIGKILL mid-run", { timeout: 120_000 }, async () => {
    const schema = schemas.newSchemaName();
    const log = join(dir, "effects.log");
    const provider = await PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 4 });
    const client = new Client(provider);
    const workers: ChildProcess[] = [];
    try {
      for (let i = 0; i < 3; i++) workers.push(await spawnWorker(schema, log));
      const N = 300;
      const STEPS = 4;
      for (let i = 0; i < N; i++) await client.startOrchestration(`mp-${i}`, "Multi", STEPS);

      // Kill one process once real progress is visible.
      const deadline = Date.now() + 30_000;
      while (logLines(log).length < (N * STEPS) / 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const victim = workers[0]!;
      victim.kill("SIGKILL");
      await new Promise((r) => victim.once("exit", r));
      // A completion, once recorded, must never run again. The survivors keep working while the
      // histories are read, so each completion is dated by its history's read: no run of it may
      // begin after that (a run begun before may be a survivor's at-least-once retry in flight).
      const recorded = new Map<string, number>();
      for (let i = 0; i < N; i++) {
        const id = `mp-${i}`;
        const hist = await client.readHistory(id);
        const readAt = Date.now();
        const scheduled = new Map<number, number>();
        for (const e of hist) {
          if (e.type === "ActivityScheduled") scheduled.set(e.eventId, (JSON.parse(e.input) as { step: number }).step);
          if (e.type === "ActivityCompleted" && e.sourceEventId !== null) recorded.set(`${id}:${scheduled.get(e.sourceEventId)}`, readAt);
        }
      }
      workers.push(await spawnWorker(schema, log)); // a replacement joins

      for (let i = 0; i < N; i++) {
        const r = await client.waitForOrchestration(`mp-${i}`, 60_000);
        assert.equal(r.status, "Completed", `mp-${i}`);
        assert.equal(r.output, (STEPS * (STEPS + 1)) / 2);
      }
      // One holder at a time: every history is a single gap-free sequence with one decision per step.
      for (let i = 0; i < N; i++) {
        const hist = await client.readHistory(`mp-${i}`);
        assert.deepEqual(hist.map((e) => e.eventId), hist.map((_, k) => k + 1), `mp-${i} event ids`);
        assert.equal(hist.filter((e) => e.type === "ActivityScheduled").length, STEPS, `mp-${i} schedules`);
        assert.equal(hist.filter((e) => e.type === "OrchestrationCompleted").length, 1, `mp-${i} completions`);
      }
      const runs = new Map<string, number>();
      const pids = new Set<string>();
      let again = 0;
      for (const line of logLines(log)) {
        const [inst, step, pid, began] = line.split(":");
        const key = `${inst}:${step}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        pids.add(pid!);
        const readAt = recorded.get(key);
        if (readAt !== undefined && Number(began) > readAt) again++;
      }
      assert.ok(pids.size >= 3, `work spread over processes (${pids.size})`);
      for (let i = 0; i < N; i++) for (let s = 1; s <= STEPS; s++) assert.ok((runs.get(`mp-${i}:${s}`) ?? 0) >= 1, `mp-${i}:${s} ran`);
      assert.equal(again, 0, "activities whose completion was recorded ran again");
      const duplicates = [...runs.entries()].filter(([, n]) => n > 1);
      // Only steps in flight at the kill may run twice (at-least-once).
      assert.ok(duplicates.length <= 8 * 1, `in-flight re-runs bounded by the victim's worker slots: ${duplicates.length}`);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
      await provider.close();
    }
  });
});
