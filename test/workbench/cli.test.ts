// The real `duroxide` bin as a child process, on a populated SQLite file and PostgreSQL schema:
// every command's table and --json output, paging, filters, exit codes and one-line errors.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { duroxide, parseJson, run, REPO_ROOT, type CliResult } from "./cliRunner.js";
import { IDS, XSS_ID } from "./fixtures.js";
import { emptyStore, populatedStore, STORE_KINDS, type TestStore } from "./stores.js";
import { Client, Runtime, withPayloadCodec, type PayloadCodec } from "../../src/index.js";

const FIXTURES_URL = new URL("./fixtures.js", import.meta.url).href;
const tmp = mkdtempSync(join(tmpdir(), "dx-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
function module(name: string, source: string): string {
  const f = join(tmp, name);
  writeFileSync(f, source);
  return f;
}
// verify --module files: the fixture app as deployed, and one whose Approval changed shape.
const GOOD_MODULE = module("good.mjs", `export { registerFixtureApp as default } from ${JSON.stringify(FIXTURES_URL)};\n`);
const CHANGED_MODULE = module(
  "changed.mjs",
  `export function register(rt) {
  rt.registerOrchestration("Sleeper", async (ctx) => {
    await ctx.scheduleTimer(3600000);
    return "woke";
  });
  rt.registerOrchestration("Approval", async (ctx) => {
    await ctx.scheduleTimer(1000);
    return await ctx.waitForEvent("approve");
  });
}
`,
);
const NO_EXPORT_MODULE = module("none.mjs", "export const x = 1;\n");

interface Item {
  instanceId: string;
  status: string;
  orchestrationName: string;
}

function oneLineError(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

for (const kind of STORE_KINDS) {
  describe(`[${kind}] duroxide CLI`, () => {
    let store: TestStore;
    const cli = (...args: string[]) => duroxide([...store.args, ...args]);
    before(async () => {
      store = await populatedStore(kind);
    });
    after(async () => {
      await store?.destroy();
    });

    it("list: a table for people, every status in --json, filters", async () => {
      const t = await cli("list");
      assert.equal(t.code, 0, t.stderr);
      for (const id of Object.values(IDS)) assert.ok(t.stdout.includes(id), `table lists ${id}`);
      assert.match(t.stdout, /12 instances/);

      const all = parseJson<{ items: Item[]; nextCursor: string | null }>(await cli("list", "--json"));
      assert.equal(all.items.length, 12);
      assert.equal(all.nextCursor, null);
      assert.deepEqual(new Set(all.items.map((i) => i.status)), new Set(["Running", "Completed", "Failed", "ContinuedAsNew"]));

      const failed = parseJson<{ items: Item[] }>(await cli("list", "--status", "failed", "--json"));
      assert.deepEqual(failed.items.map((i) => i.instanceId).sort(), [IDS.cancelled, IDS.failed].sort());
      const leaves = parseJson<{ items: Item[] }>(await cli("--json", "list", "--name", "Leaf"));
      assert.equal(leaves.items.length, 3);
      assert.ok(leaves.items.every((i) => i.orchestrationName === "Leaf"));
      const future = parseJson<{ items: Item[] }>(await cli("list", "--since", "2999-01-01", "--json"));
      assert.equal(future.items.length, 0);
      const recent = parseJson<{ items: Item[] }>(await cli("list", "--since", "1h", "--until", "2999-01-01T00:00:00Z", "--json"));
      assert.equal(recent.items.length, 12);
    });

    it("list: keyset pages cover every instance once; --all follows them", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: CliResult = await cli("list", "--limit", "5", "--json", ...(cursor ? ["--cursor", cursor] : []));
        const page = parseJson<{ items: Item[]; nextCursor: string | null }>(r);
        seen.push(...page.items.map((i) => i.instanceId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, 12);
      const t = await cli("list", "--limit", "5");
      assert.match(t.stdout, /5 instances; next page: --cursor \S+/);
      const every = parseJson<{ items: Item[] }>(await cli("list", "--limit", "4", "--all", "--json"));
      assert.equal(every.items.length, 12);
    });

    it("show: status, output, custom status, KV, executions, children", async () => {
      const c = parseJson<Record<string, unknown>>(await cli("show", IDS.completed, "--json"));
      assert.equal(c["status"], "Completed");
      assert.deepEqual(c["input"], { amount: 42 });
      assert.deepEqual(c["output"], { charged: 42 });
      assert.equal(c["customStatus"], "done");
      assert.deepEqual(c["kv"], { stage: "charge" });
      const f = parseJson<{ error: { message: string } }>(await cli("show", IDS.failed, "--json"));
      assert.match(f.error.message, /card declined/);
      const x = parseJson<{ error: { message: string } }>(await cli("show", IDS.cancelled, "--json"));
      assert.match(x.error.message, /customer gave up/);
      const p = parseJson<{ children: { instanceId: string; status: string }[]; childCount: number }>(await cli("show", IDS.parent, "--json"));
      assert.equal(p.childCount, 3);
      assert.ok(p.children.every((k) => k.status === "Completed"));
      const l = parseJson<{ executionCount: number; executions: { executionId: number }[] }>(await cli("show", IDS.loop, "--json"));
      assert.equal(l.executionCount, 3);
      assert.deepEqual(l.executions.map((e) => e.executionId), [3, 2, 1]);

      const t = await cli("show", IDS.waiting);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /waiting for approval/);
      assert.match(t.stdout, /approver/);
      assert.match(t.stdout, /Executions \(1\)/);
    });

    it("history: a readable timeline; --json carries events and bars with retries", async () => {
      const t = await cli("history", IDS.failed);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /ActivityFailed/);
      assert.match(t.stdout, /card declined after \d+ ms/);
      const doc = parseJson<{ events: { type: string }[]; timeline: { spans: { kind: string; attempt: number; outcome: string }[] } }>(
        await cli("history", IDS.failed, "--json"),
      );
      assert.equal(doc.events[0]!.type, "OrchestrationStarted");
      const attempts = doc.timeline.spans.filter((s) => s.kind === "activity");
      assert.deepEqual(attempts.map((s) => [s.attempt, s.outcome]), [[1, "failed"], [2, "failed"], [3, "failed"]]);
      const first = parseJson<{ executionId: number; events: { type: string }[] }>(await cli("history", IDS.loop, "--execution", "1", "--json"));
      assert.equal(first.executionId, 1);
      assert.equal(first.events.at(-1)!.type, "OrchestrationContinuedAsNew");
      oneLineError(await cli("history", IDS.loop, "--execution", "9"), 3, /not found/);
      oneLineError(await cli("history", IDS.loop, "--execution", "x"), 2, /--execution/);
    });

    it("tree: the parent and its children", async () => {
      const t = await cli("tree", IDS.parent);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stdout.trimEnd().split("\n").length, 4);
      assert.match(t.stdout, /└─ batch-parent::sub::\d+ {2}Leaf {2}Completed/);
      const doc = parseJson<{ root: { children: unknown[] }; size: number }>(await cli("tree", IDS.parent, "--json"));
      assert.equal(doc.size, 4);
      assert.equal(doc.root.children.length, 3);
    });

    it("stats: system metrics and queue depths, or one instance", async () => {
      const s = parseJson<{ metrics: { totalInstances: number }; queues: { timerQueue: number } }>(await cli("stats", "--json"));
      assert.equal(s.metrics.totalInstances, 12);
      assert.ok(s.queues.timerQueue >= 1);
      const one = parseJson<{ historyEventCount: number }>(await cli("stats", IDS.completed, "--json"));
      assert.ok(one.historyEventCount > 3);
      oneLineError(await cli("stats", "missing-id"), 3, /not found/);
    });

    it("export: the history document the test kit replays", async () => {
      const doc = parseJson<{ format: string; instance: { instanceId: string }; executions: { executionId: number; events: unknown[] }[] }>(
        await cli("export", IDS.loop),
      );
      assert.equal(doc.format, "duroxide-history");
      assert.equal(doc.instance.instanceId, IDS.loop);
      assert.deepEqual(doc.executions.map((e) => e.executionId), [1, 2, 3]);
      const out = join(tmp, `${kind}-export.json`);
      const w = await cli("export", IDS.completed, "--out", out);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /wrote .*1 execution\(s\), \d+ events/);
      assert.equal((JSON.parse(readFileSync(out, "utf8")) as { instance: { instanceId: string } }).instance.instanceId, IDS.completed);
      oneLineError(await cli("export", "no-such-instance"), 3, /not found/);
    });

    it("verify: exit 0 when the module's code continues every in-flight instance, 1 when one would break", async () => {
      const ok = await cli("verify", "--module", GOOD_MODULE);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /2 in-flight instance\(s\) replayed; all would continue/);
      const okJson = parseJson<{ checked: number; ok: boolean }>(await cli("verify", "--module", GOOD_MODULE, "--json"));
      assert.deepEqual(okJson, { checked: 2, ok: true, failures: [] });

      const bad = await cli("verify", "--module", CHANGED_MODULE, "--json");
      assert.equal(bad.code, 1, bad.stderr);
      const report = parseJson<{ ok: boolean; failures: { instanceId: string; error: string }[] }>(bad);
      assert.equal(report.ok, false);
      assert.deepEqual(report.failures.map((f) => f.instanceId), [IDS.waiting]);
      assert.equal(report.failures[0]!.error, "NondeterminismError");
      assert.match(bad.stderr.trim(), /^duroxide: 1 in-flight instance\(s\) would not replay with this code$/);
      const table = await cli("verify", "--module", CHANGED_MODULE);
      assert.equal(table.code, 1);
      assert.match(table.stdout, /order-waiting/);

      oneLineError(await cli("verify", "--module", NO_EXPORT_MODULE), 2, /must export a function/);
      oneLineError(await cli("verify", "--module", join(tmp, "missing.mjs")), 2, /cannot load module/);
      const noModule = await cli("verify");
      assert.equal(noModule.code, 2);
      assert.match(noModule.stderr, /--module/);
    });

    it("errors: one line on stderr and an exit code scripts can rely on", async () => {
      oneLineError(await cli("show", "no-such-instance"), 3, /^duroxide: .*no-such-instance.*not found/);
      oneLineError(await cli("raise", IDS.waiting, "approve", "{not json"), 2, /event data is not valid JSON/);
      oneLineError(await cli("raise", "no-such-instance", "approve", "1"), 3, /not found/);
      oneLineError(await cli("list", "--status", "Sleeping"), 2, /--status/);
      oneLineError(await cli("list", "--since", "yesterday"), 2, /--since/);
      oneLineError(await cli("list", "--cursor", "garbage!"), 2, /cursor/);
      oneLineError(await cli("delete", IDS.waiting), 5, /still running/);
      oneLineError(await cli("delete", `${IDS.parent}::sub::2`), 5, /sub-orchestration/);
      oneLineError(await cli("prune", "--instances"), 2, /needs --completed-before/);
    });

    it("actions: raise, enqueue, cancel, delete, prune change the store", async () => {
      const raised = parseJson<{ raised: boolean }>(await cli("raise", IDS.waiting, "approve", '{"by":"bob"}', "--json"));
      assert.equal(raised.raised, true);
      const en = await cli("enqueue", IDS.waiting, "inbox", "@" + writeTemp('{"n":1}'));
      assert.equal(en.code, 0, en.stderr);
      const stdin = await duroxide([...store.args, "enqueue", IDS.waiting, "inbox", "-"], { input: "[1,2]" });
      assert.equal(stdin.code, 0, stdin.stderr);
      const before = parseJson<{ queues: { orchestratorQueue: number } }>(await cli("stats", "--json"));
      assert.ok(before.queues.orchestratorQueue >= 3);
      const cancel = await cli("cancel", IDS.timer, "--reason", "ops");
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.match(cancel.stdout, /cancellation of order-timer requested/);

      const del = parseJson<{ instancesDeleted: number }>(await cli("delete", IDS.parent, "--json"));
      assert.equal(del.instancesDeleted, 4);
      oneLineError(await cli("show", IDS.parent), 3, /not found/);
      const forced = await cli("delete", IDS.waiting, "--force");
      assert.equal(forced.code, 0, forced.stderr);

      const pruned = parseJson<{ executionsDeleted: number }>(await cli("prune", "--instance", IDS.loop, "--json"));
      assert.equal(pruned.executionsDeleted, 2);
      const bulk = parseJson<{ instancesDeleted: number }>(await cli("prune", "--instances", "--instance", XSS_ID, "--json"));
      assert.equal(bulk.instancesDeleted, 1);
    });
  });
}

function writeTemp(text: string): string {
  const f = join(tmp, `data-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, text);
  return f;
}

describe("duroxide CLI without a usable store", () => {
  it("no store given: usage error", async () => {
    const r = await duroxide(["list"], { env: { DUROXIDE_STORE: "" } });
    oneLineError(r, 2, /no store given/);
  });
  it("DUROXIDE_STORE names the store", async () => {
    const r = await duroxide(["list", "--json"], { env: { DUROXIDE_STORE: join(tmp, "missing.db") } });
    oneLineError(r, 4, /store not found: no SQLite file/);
  });
  it("unreachable PostgreSQL: exit 4, password redacted", async () => {
    const r = await duroxide(["--store", "postgres://u:secret@127.0.0.1:1/db", "list"]);
    oneLineError(r, 4, /cannot open store postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
    assert.ok(!r.stderr.includes("secret"));
  });
  it("unknown command and option: exit 2", async () => {
    const a = await duroxide(["lst"]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /unknown command 'lst'/);
    const b = await duroxide(["list", "--colour"]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /unknown option '--colour'/);
  });
  it("every command has --help", async () => {
    const top = await duroxide(["--help"]);
    assert.equal(top.code, 0);
    const section = top.stdout.slice(top.stdout.indexOf("Commands:"), top.stdout.indexOf("Store:"));
    const commands = [...section.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!).filter((c) => c !== "help");
    assert.deepEqual(commands, ["list", "show", "history", "tree", "raise", "enqueue", "cancel", "delete", "prune", "stats", "dead-letters", "export", "verify", "ui"]);
    for (const c of commands) {
      const h = await duroxide([c, "--help"]);
      assert.equal(h.code, 0, c);
      assert.match(h.stdout, new RegExp(`Usage: duroxide ${c}`));
      assert.match(h.stdout, /--json/);
    }
  });
});

describe("npx duroxide in a project that depends on the package", () => {
  for (const kind of STORE_KINDS) {
    it(`[${kind}] list, show and history through npx`, async () => {
      const app = mkdtempSync(join(tmpdir(), "dx-app-"));
      const store = await populatedStore(kind);
      try {
        writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
        const npm = process.platform === "win32" ? "npm.cmd" : "npm";
        const inst = await run(npm, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", REPO_ROOT], { cwd: app, timeoutMs: 120_000 });
        assert.equal(inst.code, 0, inst.stderr);
        const npx = (...args: string[]) => run(npm, ["exec", "--offline", "--no", "--", "duroxide", ...store.args, ...args], { cwd: app });
        const list = await npx("list", "--json");
        assert.equal(list.code, 0, list.stderr);
        assert.equal(parseJson<{ items: unknown[] }>(list).items.length, 12);
        const show = await npx("show", IDS.completed);
        assert.equal(show.code, 0, show.stderr);
        assert.match(show.stdout, /Order@1\.0\.0/);
        const hist = await npx("history", IDS.completed);
        assert.match(hist.stdout, /OrchestrationCompleted/);
        const missing = await npx("show", "nope");
        assert.equal(missing.code, 3);
      } finally {
        rmSync(app, { recursive: true, force: true });
        await store.destroy();
      }
    });
  }
});

describe("--codec: payloads stored through a PayloadCodec are read back with it", () => {
  for (const kind of STORE_KINDS) {
    it(`[${kind}] show and history decode with --codec, and show the stored text without it`, async () => {
      const codecFile = module(
        `codec-${kind}.mjs`,
        "const flip = (b) => Uint8Array.from(b, (x) => x ^ 0x5a);\nexport default { encode: flip, decode: flip };\n",
      );
      const { default: codec } = (await import(new URL(`file://${codecFile}`).href)) as { default: PayloadCodec };
      const store = await emptyStore(kind);
      const raw = await store.open();
      const provider = withPayloadCodec(raw, codec);
      const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, logLevel: "error" });
      rt.registerOrchestration("Secret", async (_ctx, x: { card: string }) => ({ last4: x.card.slice(-4) }));
      await rt.start();
      try {
        const c = new Client(provider);
        await c.startOrchestration("secret-1", "Secret", { card: "4111111111111111" });
        await c.waitForOrchestration("secret-1", 20_000);
      } finally {
        await rt.shutdown(200);
        await raw.close();
      }
      try {
        const plain = parseJson<{ input: unknown; output: unknown }>(await duroxide([...store.args, "--codec", codecFile, "show", "secret-1", "--json"]));
        assert.deepEqual(plain.input, { card: "4111111111111111" });
        assert.deepEqual(plain.output, { last4: "1111" });
        const encoded = await duroxide([...store.args, "show", "secret-1", "--json"]);
        assert.equal(encoded.code, 0, encoded.stderr);
        assert.ok(!encoded.stdout.includes("4111111111111111"), "without the codec the card number is not readable");
        const hist = await duroxide([...store.args, "--codec", codecFile, "history", "secret-1"]);
        assert.match(hist.stdout, /4111111111111111/);
        oneLineError(await duroxide([...store.args, "--codec", NO_EXPORT_MODULE, "list"]), 2, /must export a PayloadCodec/);
      } finally {
        await store.destroy();
      }
    });
  }
});
