// duroxide-node alias names (…Typed, the seeds' …KvValue… names) stay working but are not on the
// primary surface: the published typings of OrchestrationContext, Client and Runtime declare each
// concept once, `duroxide-ts/compat` adds the alias typings, and the aliases run either way.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";

import { Client, OrchestrationContext, Runtime, SqliteProvider } from "../../src/index.js";
import { CLIENT_ALIASES, CONTEXT_ALIASES, RUNTIME_ALIASES } from "../../src/compat/duroxideNode.js";

const TABLES: Array<[string, object, Record<string, string>]> = [
  ["OrchestrationContext", OrchestrationContext.prototype, CONTEXT_ALIASES],
  ["Client", Client.prototype, CLIENT_ALIASES],
  ["Runtime", Runtime.prototype, RUNTIME_ALIASES],
];

/**
 * Type-checks `source` the way a user's project sees this package: the probe file sits inside the
 * package, so `import "duroxide-ts"` resolves through package.json `exports` to the built typings.
 */
function typecheck(source: string): Array<{ code: number; text: string }> {
  const dir = mkdtempSync(join(resolve("."), ".compat-probe-"));
  try {
    const file = join(dir, "probe.ts");
    writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ["node"],
      typeRoots: [resolve("node_modules/@types")],
      skipLibCheck: true,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ({ code: d.code, text: ts.flattenDiagnosticMessageText(d.messageText, "\n") }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PKG = (JSON.parse(readFileSync("package.json", "utf8")) as { name: string }).name;
const INDEX = JSON.stringify(PKG);
const COMPAT = JSON.stringify(`${PKG}/compat`);
const uses = (): string =>
  [
    "declare const ctx: OrchestrationContext;",
    "declare const client: Client;",
    "declare const runtime: Runtime;",
    ...TABLES.flatMap(([cls, , table]) => {
      const v = cls === "OrchestrationContext" ? "ctx" : cls.toLowerCase();
      return Object.keys(table).map((alias) => `void ${v}.${alias};`);
    }),
    'const n: DurableFuture<number> = ctx.scheduleActivityTyped<number>("A", 1);',
    'const w: Promise<void> = client.raiseEventTyped("i", "e", { x: 1 });',
    "void n; void w;",
  ].join("\n");

describe("duroxide-node aliases", () => {
  it("each alias is a non-enumerable method forwarding to an existing primary", () => {
    for (const [cls, proto, table] of TABLES) {
      for (const [alias, primary] of Object.entries(table)) {
        const d = Object.getOwnPropertyDescriptor(proto, alias);
        assert.ok(d && typeof d.value === "function", `${cls}.${alias} installed`);
        assert.equal(d.enumerable, false, `${cls}.${alias} not enumerable`);
        assert.equal(typeof (proto as Record<string, unknown>)[primary], "function", `${cls}.${primary} exists`);
        assert.notEqual(alias, primary);
      }
    }
  });

  it("the primary typings show each concept once; the compat subpath adds the aliases", () => {
    const without = typecheck(`import { Client, OrchestrationContext, Runtime, DurableFuture } from ${INDEX};\n${uses()}\n`);
    // 2339: no such property; 2551: no such property, did you mean the primary?
    const isMissing = (d: { code: number }): boolean => d.code === 2339 || d.code === 2551;
    const missing = new Set(without.filter(isMissing).map((d) => /'(\w+)'/.exec(d.text)?.[1]));
    for (const [cls, , table] of TABLES)
      for (const alias of Object.keys(table)) assert.ok(missing.has(alias), `${cls}.${alias} must not be in the primary typings`);
    assert.ok(without.every(isMissing), JSON.stringify(without.filter((d) => !isMissing(d))));

    const withCompat = typecheck(`import { Client, OrchestrationContext, Runtime, DurableFuture } from ${INDEX};\nimport ${COMPAT};\n${uses()}\n`);
    assert.deepEqual(withCompat, []);
  });

  it("code written against the aliases runs unchanged (generator form, as in duroxide-node)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-compat-run-"));
    const provider = await SqliteProvider.open(`sqlite:${join(dir, "s.db")}`);
    // Untyped, the way duroxide-node JavaScript sees these objects.
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10 }) as unknown as Record<string, (...a: unknown[]) => unknown>;
    rt["registerActivityTyped"]!("Double", async (_c: unknown, n: number) => n * 2);
    rt["registerOrchestrationTyped"]!("Child", function* (_ctx: unknown, n: number) {
      return n + 1;
    });
    rt["registerOrchestrationVersionedTyped"]!("Main", "1.0.0", function* (c: OrchestrationContext): Generator<unknown, unknown, unknown> {
      const ctx = c as unknown as Record<string, (...a: unknown[]) => unknown>;
      const a = yield ctx["scheduleActivityTyped"]!("Double", 2);
      const b = yield ctx["scheduleActivityWithRetryTyped"]!("Double", 3, { maxAttempts: 2 });
      const kid = yield ctx["scheduleSubOrchestrationTyped"]!("Child", 10);
      const all = yield ctx["allTyped"]!([ctx["scheduleActivityTyped"]!("Double", 5), c.scheduleTimer(1)]);
      const race = yield ctx["raceTyped"]!(c.scheduleTimer(1), c.scheduleTimer(60_000));
      const ev = yield ctx["waitForEventTyped"]!("Go");
      const q = yield ctx["dequeueEventTyped"]!("inbox");
      ctx["setKvValue"]!("k", "v");
      ctx["setKvValueTyped"]!("j", { n: 1 });
      const kv = [ctx["getKvValue"]!("k"), ctx["getKvValueTyped"]!("j")];
      ctx["clearKvValue"]!("k");
      const afterClear = c.getValue("k");
      return { a, b, kid, all, race, ev, q, kv, afterClear };
    });
    await (rt as unknown as Runtime).start();
    const client = new Client(provider) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    try {
      await client["startOrchestrationTyped"]!("m", "Main", null);
      await client["raiseEventTyped"]!("m", "Go", { go: true });
      await client["enqueueEventTyped"]!("m", "inbox", 7);
      const r = await (client as unknown as Client).waitForOrchestration("m", 10_000);
      assert.equal(r.status, "Completed", JSON.stringify(r));
      assert.deepEqual(r.output, {
        a: 4,
        b: 6,
        kid: 11,
        all: [{ ok: 10 }, { ok: null }],
        race: { index: 0, value: null },
        ev: { go: true },
        q: 7,
        kv: ["v", { n: 1 }],
        afterClear: null,
      });
    } finally {
      await (rt as unknown as Runtime).shutdown(1_000);
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
