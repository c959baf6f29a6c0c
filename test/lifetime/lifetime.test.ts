// Process lifetime like a good Node library: a running Runtime and a pending client wait keep the
// process alive; an open provider with neither does not (idle pool clients and the LISTEN
// connection are unref'd), so a script that never closes its provider still exits by itself.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));
const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const pgDown = await probePostgres(PG_URL);

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** ms from the child's "done" line to its exit. */
  exitAfterDoneMs: number;
}

/** Runs one scenario; a child still running `limitMs` after it printed "done" is killed. */
function runChild(args: string[], limitMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let doneAt = 0;
    let killer: NodeJS.Timeout | undefined;
    const overall = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (doneAt === 0 && /^done/m.test(out)) {
        doneAt = Date.now();
        killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
      }
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("exit", (code, signal) => {
      clearTimeout(overall);
      if (killer) clearTimeout(killer);
      resolve({ code, signal, out, err, exitAfterDoneMs: doneAt === 0 ? -1 : Date.now() - doneAt });
    });
  });
}

const EXIT_LIMIT_MS = 5_000;

function stores(): Array<{ name: string; skip: string | false; args: () => Promise<string[]> }> {
  const dir = mkdtempSync(join(tmpdir(), "dx-life-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const schemas = new ThrowawaySchemas(PG_URL, `dx_life_${process.pid}`);
  after(() => schemas.cleanup());
  let n = 0;
  return [
    { name: "sqlite", skip: false, args: async () => ["sqlite", "x", `sqlite:${join(dir, `s${n++}.db`)}`] },
    {
      name: "postgres",
      skip: pgDown === null ? false : `PostgreSQL unreachable: ${pgDown}`,
      args: async () => ["postgres", "x", PG_URL, schemas.newSchemaName()],
    },
  ];
}

for (const store of stores()) {
  describe(`[${store.name}] process lifetime`, { skip: store.skip }, () => {
    const scenario = async (name: string): Promise<Outcome> => {
      const a = await store.args();
      a[1] = name;
      return runChild(a, EXIT_LIMIT_MS);
    };

    it("exits by itself after runtime.shutdown() with the provider never closed", async () => {
      const r = await scenario("after-shutdown");
      assert.equal(r.signal, null, `still running ${EXIT_LIMIT_MS} ms after shutdown (killed)\n${r.err}`);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^done Completed$/m);
      assert.ok(r.exitAfterDoneMs < EXIT_LIMIT_MS);
    });

    it("a client-only process with an open provider and nothing pending exits by itself", async () => {
      const r = await scenario("idle-provider");
      assert.equal(r.signal, null, `still running ${EXIT_LIMIT_MS} ms after its work (killed)\n${r.err}`);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^done (NotFound|Running)$/m);
    });

    it("a running runtime keeps the process alive", async () => {
      const r = await scenario("runtime-running");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^alive$/m, "the process ended while the runtime was running");
    });

    it("a pending client wait keeps the process alive", async () => {
      const r = await scenario("wait-pending");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^alive$/m, "the process ended while a wait was pending");
    });

    it("await provider.close() resolves after the provider did work (the code after it runs)", async () => {
      const r = await scenario("close-after-work");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^done Completed closed$/m, "the process ended with provider.close() still pending");
    });

    it("provider.close() is idempotent (sequential and concurrent calls)", async () => {
      const r = await scenario("close-twice");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^done closed$/m);
    });
  });
}
