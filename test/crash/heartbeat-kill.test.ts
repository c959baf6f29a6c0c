// SIGKILL of a worker running a heartbeating activity, on both stores: with the default 30 s
// worker lock, the activity is retried within heartbeatTimeoutMs + 1 s of the kill, and the next
// attempt resumes from the last heartbeat details the killed one stored. Plain schedule: the
// same activity is delivered again (attempt 2). Retry policy: the lost attempt is recorded as a
// HeartbeatTimeout failure and the policy's next attempt runs.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, Runtime, SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { PG_URL, PROVIDERS } from "../e2e/harness.js";
import { HEARTBEAT_TIMEOUT_MS, registerHeartbeatApp } from "./heartbeat-app.js";

const CHILD = fileURLToPath(new URL("./heartbeat-child.js", import.meta.url));
const schemas = PROVIDERS.includes("postgres") ? new ThrowawaySchemas(PG_URL, `dx_hbkill_${process.pid}`) : null;
after(async () => {
  await schemas?.cleanup();
});

interface Store {
  args: [string, string];
  open(): Promise<Provider>;
  destroy(): Promise<void>;
}

function store(kind: "sqlite" | "postgres"): Store {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dx-hbkill-"));
    const file = join(dir, "store.db");
    return { args: [file, "-"], open: () => SqliteProvider.open(`sqlite:${file}`), destroy: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = schemas!.newSchemaName();
  return {
    args: [PG_URL, schema],
    open: () => PostgresProvider.connectWithSchema(PG_URL, schema, { maxConnections: 4 }),
    destroy: () => schemas!.dropSchema(schema),
  };
}

function spawnChild(s: Store, log: string): Promise<{ proc: ChildProcess; exited: Promise<unknown>; stderr: () => string }> {
  const proc = spawn(process.execPath, [CHILD, "--heartbeat-child", ...s.args, log], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("started\n")) resolve({ proc, exited, stderr: () => err });
    });
    void exited.then((r) => reject(new Error(`child exited early (${JSON.stringify(r)}): ${err}`)));
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of PROVIDERS) {
  describe(`[${kind}] SIGKILL of a worker running a heartbeating activity`, () => {
    for (const mode of ["plain", "retry"] as const) {
      it(`${mode}: retried within heartbeatTimeoutMs + 1 s, resuming from the last heartbeat`, { timeout: 30_000 }, async () => {
        const s = store(kind);
        const dir = mkdtempSync(join(tmpdir(), "dx-hbkill-log-"));
        const log = join(dir, "child.log");
        const clientProvider = await s.open();
        const client = new Client(clientProvider);
        let runtime: Runtime | null = null;
        let runtimeProvider: Provider | null = null;
        try {
          const child = await spawnChild(s, log);
          await client.startOrchestration("order-1", "Order", mode);
          const lines = (): string[] => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);
          await waitFor("the activity to heartbeat a few times", () => lines().filter((l) => l.startsWith("beat")).length >= 6, 10_000);
          process.kill(child.proc.pid!, "SIGKILL");
          await child.exited;
          const killedAt = Date.now();
          const firstStart = lines().find((l) => l.startsWith("start"))!.split(" ");

          const seen: Array<{ attempt: number; activityId: number; resume: { charged: number } | undefined; at: number }> = [];
          runtimeProvider = await s.open();
          runtime = new Runtime(runtimeProvider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
          registerHeartbeatApp(runtime, {
            charge: async (ctx) => {
              seen.push({ attempt: ctx.attempt, activityId: ctx.activityId, resume: ctx.lastHeartbeatDetails(), at: Date.now() });
              return "charged";
            },
          });
          await runtime.start();
          const r = await client.waitForOrchestration("order-1", 10_000);
          assert.equal(r.status, "Completed", JSON.stringify(r));
          assert.equal(r.output, "charged");
          assert.equal(seen.length, 1);
          const took = seen[0]!.at - killedAt;
          assert.ok(took <= HEARTBEAT_TIMEOUT_MS + 1_000, `retried ${took} ms after the kill (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`);
          assert.ok((seen[0]!.resume?.charged ?? 0) >= 1, `resumed from ${JSON.stringify(seen[0]!.resume)}`);
          assert.equal(lines().filter((l) => l.startsWith("start")).length, 1, "the killed process ran one attempt");
          const hist = await client.readHistory("order-1");
          if (mode === "plain") {
            assert.equal(seen[0]!.attempt, 2, "the same activity, delivered again");
            assert.equal(String(seen[0]!.activityId), firstStart[1]);
            assert.equal(hist.filter((e) => e.type === "ActivityScheduled").length, 1);
          } else {
            assert.notEqual(String(seen[0]!.activityId), firstStart[1], "the policy's next attempt is a new activity");
            const failed = hist.find((e) => e.type === "ActivityFailed");
            assert.ok(failed && failed.type === "ActivityFailed" && failed.details.category === "application");
            assert.equal(failed.details.code, "HeartbeatTimeout");
          }
          process.stdout.write(`# [${kind}] ${mode}: retried ${took} ms after SIGKILL (heartbeatTimeoutMs ${HEARTBEAT_TIMEOUT_MS})\n`);
        } finally {
          await runtime?.shutdown(200);
          await runtimeProvider?.close();
          await clientProvider.close();
          await s.destroy();
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
