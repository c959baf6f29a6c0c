// The real `duroxide` bin as a child process, on a populated SQLite file and PostgreSQL schema:
// every command's table and --json output, paging, filters, exit codes and one-line errors.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { duroxide, parseJson, run, REPO_ROOT, type CliResult } from "./cliRunner.js";
import { IDS, XSS_ID } from "./fixtures.js";
import { populatedStore, STORE_KINDS, type TestStore } from "./stores.js";

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

const tmp = mkdtempSync(join(tmpdir(), "dx-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
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
    const commands = [...section.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== "help");
    assert.deepEqual(commands, ["list", "show", "history", "tree", "raise", "enqueue", "cancel", "delete", "prune", "stats", "ui"]);
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
