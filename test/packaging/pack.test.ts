// The package as users get it: `npm pack`, install the tarball into fresh apps (its few runtime
// dependencies from npm's cache when there, else the registry; the drivers are linked from this
// checkout), then run ESM and CommonJS programs and type-check TypeScript consumers of both module kinds against it.
// The SQLite app has no `pg` installed and the PostgreSQL app no `better-sqlite3`, which proves
// each store loads only its own driver.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

import { probePostgres } from "../../src/providers/postgres/index.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const pgDown = await probePostgres(PG_URL);

let work = "";
let tarball = "";
let packedFiles: string[] = [];

function npm(cwd: string, args: string[]): string {
  return execFileSync(NPM, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * A fresh app folder with the packed package installed and only the given drivers linked in
 * (a link resolves to its real path, so a driver's own dependencies come from this checkout).
 */
function makeApp(name: string, drivers: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true }));
  npm(dir, ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"]);
  for (const d of drivers) symlinkSync(join(ROOT, "node_modules", d), join(dir, "node_modules", d), "dir");
  return dir;
}

function run(dir: string, file: string, source: string, env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  writeFileSync(join(dir, file), source);
  const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The README's hello world, as a function body shared by the ESM and CJS programs. */
const WORKFLOW = `
  const runtime = new Runtime(provider, { dispatcherPollIntervalMs: 20 });
  runtime.registerActivity("Greet", async (_ctx, name) => "Hello, " + name + "!");
  runtime.registerOrchestration("HelloWorld", async (ctx, name) => {
    const greeting = await ctx.scheduleActivity("Greet", name);
    await ctx.scheduleTimer(10);
    return greeting;
  });
  await runtime.start();
  await runtime.client.startOrchestration("hello-1", "HelloWorld", "World");
  const result = await runtime.client.waitForOrchestration("hello-1", 30000);
  await runtime.shutdown();
  await provider.close();
  return result;
`;

/** Checks that `pkg` cannot be resolved from the app and that `attempt` fails with DriverNotInstalled. */
const ABSENT = `
  let resolvable = true;
  try { requireFromApp.resolve(absent); } catch { resolvable = false; }
  let code = null;
  try { await attempt(); } catch (e) { code = e.code + ":" + (e instanceof DuroxideError) + ":" + e.message.includes(absent); }
  return { resolvable, code };
`;

describe("packaging: npm pack, install the tarball, run ESM and CommonJS programs", () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), "dx-pack-"));
    // The tests run on a built tree; skip prepare so packing does not rebuild dist/ under them.
    const out = npm(ROOT, ["pack", "--ignore-scripts", "--json", "--pack-destination", work]);
    const info = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, info[0]!.filename);
    packedFiles = info[0]!.files.map((f) => f.path);
  });
  after(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("packs only the built library: no tests, benches, examples, sources or source maps", () => {
    assert.ok(packedFiles.includes("dist/src/index.js") && packedFiles.includes("dist/cjs/index.js"));
    assert.ok(packedFiles.includes("dist/src/index.d.ts") && packedFiles.includes("dist/cjs/index.d.ts"));
    assert.ok(packedFiles.includes("dist/cjs/package.json"));
    const stray = packedFiles.filter(
      (f) => f.endsWith(".map") || f.endsWith(".ts") && !f.endsWith(".d.ts") || /^(test|bench|examples|src|scripts|dist\/(test|bench|examples))\//.test(f),
    );
    assert.deepEqual(stray, []);
    const library = packedFiles.filter((f) => /^dist\/(src|cjs)\/.*\.(js|d\.ts)$/.test(f));
    assert.deepEqual(packedFiles.filter((f) => !library.includes(f)).sort(), ["README.md", "dist/cjs/package.json", "package.json"]);
  });

  it("a SQLite-only app (no pg installed) runs the quick start from ESM and CommonJS", () => {
    const app = makeApp("sqlite-app", ["better-sqlite3"]);
    const esm = run(app, "main.mjs", `
      import { createRequire } from "node:module";
      import { Runtime, SqliteProvider, PostgresProvider, DuroxideError } from "duroxide-ts";
      import { SqliteProvider as SubpathSqlite } from "duroxide-ts/sqlite";
      const requireFromApp = createRequire(import.meta.url);
      const absent = "pg";
      const attempt = () => PostgresProvider.connect(${JSON.stringify(PG_URL)});
      const provider = await SqliteProvider.open("sqlite:./esm.db");
      const result = await (async () => {${WORKFLOW}})();
      const missing = await (async () => {${ABSENT}})();
      console.log(JSON.stringify({ result, missing, sameClass: SubpathSqlite === SqliteProvider }));
    `);
    assert.equal(esm.code, 0, esm.err);
    assert.deepEqual(JSON.parse(esm.out), {
      result: { status: "Completed", output: "Hello, World!", customStatusVersion: 0 },
      missing: { resolvable: false, code: "DriverNotInstalled:true:true" },
      sameClass: true,
    });

    const cjs = run(app, "main.cjs", `
      const { Runtime, SqliteProvider, PostgresProvider, DuroxideError } = require("duroxide-ts");
      const { SqliteProvider: SubpathSqlite } = require("duroxide-ts/sqlite");
      const requireFromApp = require;
      const absent = "pg";
      const attempt = () => PostgresProvider.connect(${JSON.stringify(PG_URL)});
      (async () => {
        const provider = await SqliteProvider.open("sqlite:./cjs.db");
        const result = await (async () => {${WORKFLOW}})();
        const missing = await (async () => {${ABSENT}})();
        const loadedPg = Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(k));
        console.log(JSON.stringify({ result, missing, sameClass: SubpathSqlite === SqliteProvider, loadedPg }));
      })().catch((e) => { console.error(e); process.exit(1); });
    `);
    assert.equal(cjs.code, 0, cjs.err);
    assert.deepEqual(JSON.parse(cjs.out), {
      result: { status: "Completed", output: "Hello, World!", customStatusVersion: 0 },
      missing: { resolvable: false, code: "DriverNotInstalled:true:true" },
      sameClass: true,
      loadedPg: false,
    });
  });

  it("TypeScript consumers type-check against the ESM and the CommonJS typings", () => {
    const app = makeApp("ts-app", []);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true,
          skipLibCheck: true, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        files: ["esm.mts", "cjs.cts", "bad.mts"],
      }),
    );
    const body = `
      async function main(): Promise<string> {
        const provider: Provider = await SqliteProvider.inMemory();
        const runtime = new Runtime(provider);
        runtime.registerOrchestration("O", async (ctx: OrchestrationContext, n: number) => {
          const f: DurableFuture<number> = ctx.scheduleActivity<number>("A", n);
          return (await f) + 1;
        });
        const status = await runtime.client.getStatus("x");
        return status.status;
      }
      void main;
      void PostgresProvider.connect;
    `;
    writeFileSync(join(app, "esm.mts"), `import { Runtime, SqliteProvider, PostgresProvider, type OrchestrationContext, type DurableFuture, type Provider } from "duroxide-ts";\n${body}`);
    writeFileSync(join(app, "cjs.cts"), `import { Runtime, SqliteProvider, PostgresProvider, type OrchestrationContext, type DurableFuture, type Provider } from "duroxide-ts";\n${body}`);
    // Internal members are not part of the published typings.
    writeFileSync(join(app, "bad.mts"), `import type { DurableFuture } from "duroxide-ts";\ndeclare const f: DurableFuture<number>;\n// @ts-expect-error internal\nf._settle({ ok: true, value: 1 });\n`);
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // And a type error in a consumer is reported (the check above can fail).
    writeFileSync(join(app, "bad.mts"), `import { Runtime } from "duroxide-ts";\nconst r: Runtime = new Runtime(42);\nvoid r;\n`);
    const bad = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /bad\.mts/);
  });

  it("a PostgreSQL-only app (no better-sqlite3 installed) runs from ESM and CommonJS", { skip: pgDown === null ? false : `PostgreSQL unreachable: ${pgDown}` }, async () => {
    const app = makeApp("pg-app", ["pg"]);
    const schemas = [`dx_pack_${process.pid}_esm`, `dx_pack_${process.pid}_cjs`];
    try {
      const esm = run(app, "main.mjs", `
        import { createRequire } from "node:module";
        import { Runtime, SqliteProvider, DuroxideError } from "duroxide-ts";
        import { PostgresProvider } from "duroxide-ts/postgres";
        const requireFromApp = createRequire(import.meta.url);
        const absent = "better-sqlite3";
        const attempt = () => SqliteProvider.inMemory();
        const provider = await PostgresProvider.connectWithSchema(${JSON.stringify(PG_URL)}, ${JSON.stringify(schemas[0])});
        const result = await (async () => {${WORKFLOW}})();
        const missing = await (async () => {${ABSENT}})();
        console.log(JSON.stringify({ result, missing }));
      `);
      assert.equal(esm.code, 0, esm.err);
      assert.deepEqual(JSON.parse(esm.out), {
        result: { status: "Completed", output: "Hello, World!", customStatusVersion: 0 },
        missing: { resolvable: false, code: "DriverNotInstalled:true:true" },
      });
      const cjs = run(app, "main.cjs", `
        const { Runtime, PostgresProvider, SqliteProvider, DuroxideError } = require("duroxide-ts");
        const requireFromApp = require;
        const absent = "better-sqlite3";
        const attempt = () => SqliteProvider.open("sqlite:./x.db");
        (async () => {
          const provider = await PostgresProvider.connectWithSchema(${JSON.stringify(PG_URL)}, ${JSON.stringify(schemas[1])});
          const result = await (async () => {${WORKFLOW}})();
          const missing = await (async () => {${ABSENT}})();
          const loadedSqlite = Object.keys(require.cache).some((k) => k.includes("better-sqlite3"));
          console.log(JSON.stringify({ result, missing, loadedSqlite }));
        })().catch((e) => { console.error(e); process.exit(1); });
      `);
      assert.equal(cjs.code, 0, cjs.err);
      assert.deepEqual(JSON.parse(cjs.out), {
        result: { status: "Completed", output: "Hello, World!", customStatusVersion: 0 },
        missing: { resolvable: false, code: "DriverNotInstalled:true:true" },
        loadedSqlite: false,
      });
    } finally {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await c.end();
    }
  });
});
