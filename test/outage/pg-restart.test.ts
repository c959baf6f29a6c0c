// PostgreSQL restarts and stops under running runtimes: two child processes run slow activities
// (lock renewals and acks in flight) while the server is restarted, then stopped for 2 s and
// started. Neither process may crash; every instance completes; every activity whose result was
// computed ran once (results computed during the outage are committed when the server is back);
// a client wait begun before the outage rides it out.
//
// Run as its own serial step (scripts/run-tests.mjs runs test/outage after the main run): it
// takes the shared server away. Skips where it cannot control the server (not root, no
// pg_ctlcluster, remote server).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Client } from "../../src/index.js";
import { ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { acquireRestartLock, cannotControl, ensureServerUp, restartServer, stopServerFor } from "./pgControl.js";
import { STEPS } from "./app.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const CHILD = fileURLToPath(new URL("./pg-child.js", import.meta.url));
const skip = await cannotControl(PG_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Child {
  proc: ChildProcess;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  stderr: () => string;
}

function spawnChild(schema: string, log: string): Promise<Child> {
  const proc = spawn(process.execPath, [CHILD, "--outage-child", PG_URL, schema, log], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const child: Child = { proc, exit: null, stderr: () => err };
  proc.on("exit", (code, signal) => (child.exit = { code, signal }));
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    proc.on("exit", (code) => reject(new Error(`child exited before ready (code ${code}): ${err}`)));
  });
}

async function checkpoint(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on("error", () => undefined);
  try {
    await c.connect();
    await c.query("CHECKPOINT");
  } finally {
    await c.end().catch(() => undefined);
  }
}

function runs(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (!line) continue;
    const key = line.split(" ")[0]!; // "<instance>:<step> <pid> <ms>"
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("PostgreSQL restart and stop under load", { skip: skip ?? false }, () => {
  const schemas = new ThrowawaySchemas(PG_URL, `dx_outage_${process.pid}`);
  const dir = mkdtempSync(join(tmpdir(), "dx-outage-"));
  const children: Child[] = [];
  let release: (() => void) | null = null;
  after(async () => {
    for (const c of children) if (c.exit === null) c.proc.kill("SIGKILL");
    await ensureServerUp(PG_URL);
    release?.();
    await schemas.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("no process crashes, every instance completes, no computed result is lost", { timeout: 600_000 }, async () => {
    const waited = Date.now();
    release = await acquireRestartLock(480_000);
    process.stderr.write(`outage test: restart lock taken after ${Date.now() - waited} ms\n`);
    const log = join(dir, "side-effects.log");
    const provider = await schemas.open(undefined, { maxConnections: 2 });
    const client = new Client(provider);
    children.push(await spawnChild(provider.schema, log), await spawnChild(provider.schema, log));

    const ids = Array.from({ length: 10 }, (_, i) => `chain-${i}`);
    for (const id of ids) await client.startOrchestration(id, "Chain", { ms: 1_200 });
    // Waits begun before the outage must ride it out.
    let lastDone = 0;
    const waits = ids.map((id) =>
      client.waitForOrchestration(id, 90_000).then(
        (s) => ((lastDone = Date.now()), s),
        (err: unknown) => err as Error,
      ),
    );
    const deadline = Date.now() + 90_000;
    while ([...runs(log).keys()].filter((k) => k.endsWith(":a")).length < ids.length) {
      if (Date.now() > deadline) assert.fail(`activities did not start: ${existsSync(log) ? readFileSync(log, "utf8") : "(no log)"} ${children.map((c) => c.stderr()).join("\n")}`);
      await sleep(50);
    }

    // A checkpoint first keeps the shutdown checkpoint (and so the outage) short.
    const outages: number[] = [];
    for (const outage of [() => restartServer(), () => stopServerFor(2_000)]) {
      await checkpoint();
      const down = Date.now();
      await outage();
      await ensureServerUp(PG_URL);
      outages.push(Date.now() - down);
      await sleep(2_500);
    }
    const back = Date.now() - 2_500; // the server was last back up here

    const statuses = await Promise.all(waits);
    const recoveredMs = Math.max(0, lastDone - back);
    for (const [i, s] of statuses.entries()) {
      if (s instanceof Error) assert.fail(`the wait for ${ids[i]} did not ride out the outage: ${s.message}`);
      assert.equal(s.status, "Completed", `${ids[i]}: ${JSON.stringify(s)}`);
      assert.deepEqual(s.output, STEPS.map((step) => `${step}@${ids[i]}`));
    }
    for (const [i, c] of children.entries()) assert.equal(c.exit, null, `child ${i} exited: ${JSON.stringify(c.exit)}\n${c.stderr()}`);
    const counts = runs(log);
    const reruns = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(reruns, [], `activities whose results were computed ran again (outages ${outages.join(", ")} ms)\n${readFileSync(log, "utf8")}\n${children.map((c) => c.stderr()).join("\n")}`);
    assert.equal(counts.size, ids.length * STEPS.length);
    process.stderr.write(`outage test: outages ${outages.join(", ")} ms; last instance completed ${recoveredMs} ms after the server was last back\n`);
  });
});
