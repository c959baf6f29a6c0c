// One trace across a SIGKILL and a restart: the client starts a workflow inside a request span; a
// child process runs the first activity and is killed while the second runs; a new process runs
// the second activity again, and its span (attempt 2) is a child of the turn the first process
// stored, in the request's trace. Nothing the first process finished is traced again.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, SqliteProvider } from "../../src/index.js";
import { record, renderTree, setupOtel, type SpanRecord } from "./otel.js";

const CHILD = fileURLToPath(new URL("./trace-child.js", import.meta.url));

function spawnChild(db: string, spans: string, mode: "first" | "second", waitFor: string): Promise<{ proc: ChildProcess; exited: Promise<unknown> }> {
  const proc = spawn(process.execPath, [CHILD, "--trace-child", db, spans, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(`${waitFor}\n`)) resolve({ proc, exited });
    });
    void exited.then(() => reject(new Error(`child exited early: ${err}`)));
  });
}

function readSpans(file: string): SpanRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as SpanRecord);
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("telemetry: across a crash", () => {
  it("an activity run by the new process after a SIGKILL is in the original trace, under the stored turn", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-otel-restart-"));
    const db = join(dir, "app.db");
    const spansFile = join(dir, "spans.jsonl");
    const otel = setupOtel({ metrics: false });
    const provider = await SqliteProvider.open(`sqlite:${db}`);
    const children: ChildProcess[] = [];
    try {
      const client = new Client(provider, { telemetry: otel.telemetry });
      const first = await spawnChild(db, spansFile, "first", "ready");
      children.push(first.proc);
      const request = await otel.tracerProvider.getTracer("app").startActiveSpan("POST /journeys", async (span) => {
        await client.startOrchestration("j1", "Journey", "12A");
        span.end();
        return span.spanContext();
      });
      // Wait until the second activity runs in the first process, then kill it hard.
      await new Promise<void>((resolve) => {
        let out = "";
        first.proc.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("ticket-started\n")) resolve();
        });
      });
      const firstPid = first.proc.pid!;
      process.kill(firstPid, "SIGKILL");
      await first.exited;

      const second = await spawnChild(db, spansFile, "second", "ready");
      children.push(second.proc);
      const status = await client.waitForOrchestration("j1", 20_000);
      assert.equal(status.status, "Completed");
      assert.equal(status.output, "reserved 12A; ticket for 12A");
      const secondPid = second.proc.pid!;
      // The last turn span ends right after its ack: wait for it in the file.
      await until("the final turn span", () =>
        readSpans(spansFile).find((s) => s.pid === secondPid && s.attributes["duroxide.orchestration.status"] === "Completed"),
      );

      const mine = otel.spans.getFinishedSpans().map((s) => ({ ...record(s), pid: process.pid }));
      const spans = [...mine, ...readSpans(spansFile)];
      if (process.env["PRINT_TRACE"]) process.stdout.write(`\n${renderTree(spans)}\n`);
      for (const s of spans) assert.equal(s.traceId, request.traceId, `${s.name} (pid ${s.pid}) is in the request's trace`);

      const inFirst = spans.filter((s) => s.pid === firstPid);
      const inSecond = spans.filter((s) => s.pid === secondPid);
      const execution = inFirst.filter((s) => s.name === "orchestration Journey");
      assert.equal(execution.length, 1);
      assert.equal(spans.filter((s) => s.name === "orchestration Journey").length, 1, "the restart does not start the execution's span again");
      assert.deepEqual(inFirst.filter((s) => s.name.startsWith("activity ")).map((s) => s.name), ["activity Reserve"]);
      assert.deepEqual(inSecond.filter((s) => s.name.startsWith("activity ")).map((s) => s.name), ["activity Ticket"], "Reserve is not run (or traced) again");

      const ticket = inSecond.find((s) => s.name === "activity Ticket")!;
      assert.equal(ticket.attributes["duroxide.activity.attempt"], 2, "the second delivery of the work item");
      const scheduler = inFirst.find((s) => s.spanId === ticket.parentSpanId);
      assert.ok(scheduler, "the Ticket span's parent is the turn the first process stored");
      assert.equal(scheduler.name, "turn Journey");
      const secondTurns = inSecond.filter((s) => s.name === "turn Journey");
      assert.ok(secondTurns.length >= 1);
      for (const t of secondTurns) assert.equal(t.parentSpanId, execution[0]!.spanId, "later turns hang under the stored execution span");
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await provider.close?.();
      await otel.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
