// Structured logging through a running runtime: correlation fields on orchestration and activity
// traces, silence while replaying, levels from options and DUROXIDE_LOG_LEVEL, JSON format, and
// nothing ever written to stdout.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Runtime, SqliteProvider, type LogRecord, type OrchestrationContext, type RuntimeOptions } from "../../src/index.js";

function register(rt: Runtime): void {
  rt.registerActivity("Step", async (ctx, i: number) => {
    ctx.traceInfo(`activity step ${i}`);
    return i;
  });
  rt.registerOrchestration("Traced", async (ctx: OrchestrationContext) => {
    for (let i = 0; i < 3; i++) {
      ctx.traceInfo(`before step ${i}`);
      await ctx.scheduleActivity("Step", i);
    }
    ctx.traceInfo("done");
    return "ok";
  });
}

/** Runs the Traced orchestration once; captures stdout and stderr writes meanwhile. */
async function runWorkload(options: RuntimeOptions): Promise<{ stdout: string; stderr: string }> {
  const provider = await SqliteProvider.inMemory();
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    out.push(String(chunk));
    // Pass through: the test runner reports over stdout.
    return (origOut as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, ...options });
    register(rt);
    await rt.start();
    await rt.client.startOrchestration("t1", "Traced");
    const r = await rt.client.waitForOrchestration("t1", 5_000);
    assert.equal(r.output, "ok");
    await rt.shutdown(200);
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    await provider.close();
  }
  return { stdout: out.join(""), stderr: err.join("") };
}

/**
 * Under `node --test` the runner's own protocol also goes through process.stdout, so the check
 * is that none of *our* output (log lines, trace messages, targets) ever shows up there.
 */
function assertNoLogsOnStdout(stdout: string): void {
  for (const needle of ["duroxide::", "before step", "activity step", "instance_id"])
    assert.ok(!stdout.includes(needle), `stdout carries log output (${needle})`);
}

describe("runtime logging", () => {
  for (const replayEveryTurn of [true, false]) {
    it(`orchestration traces are logged once each, not on replay (replayEveryTurn=${replayEveryTurn}); fields correlate`, async () => {
      const records: LogRecord[] = [];
      const { stdout } = await runWorkload({ replayEveryTurn, logLevel: "info", logSink: (r) => records.push(r) });
      assertNoLogsOnStdout(stdout);
      const orch = records.filter((r) => r.target === "duroxide::orchestration");
      assert.deepEqual(
        orch.map((r) => r.message),
        ["before step 0", "before step 1", "before step 2", "done"],
        "4 turns replay up to 3 earlier traces each; none is repeated",
      );
      for (const r of orch) {
        assert.equal(r.fields["instance_id"], "t1");
        assert.equal(r.fields["execution_id"], 1);
        assert.equal(r.fields["orchestration_name"], "Traced");
        assert.equal(r.fields["orchestration_version"], "1.0.0");
        assert.match(String(r.fields["worker_id"]), /^orch-/);
        assert.equal(r.level, "info");
      }
      const act = records.filter((r) => r.target === "duroxide::activity");
      assert.deepEqual(
        act.map((r) => r.message),
        ["activity step 0", "activity step 1", "activity step 2"],
      );
      for (const r of act) {
        assert.equal(r.fields["instance_id"], "t1");
        assert.equal(r.fields["execution_id"], 1);
        assert.equal(r.fields["orchestration_name"], "Traced");
        assert.equal(r.fields["orchestration_version"], "1.0.0");
        assert.equal(r.fields["activity_name"], "Step");
        assert.equal(typeof r.fields["activity_id"], "number");
        assert.match(String(r.fields["worker_id"]), /^work-/);
      }
    });
  }

  it("logLevel option filters user traces", async () => {
    const records: LogRecord[] = [];
    await runWorkload({ logLevel: "warn", logSink: (r) => records.push(r) });
    assert.equal(records.filter((r) => r.level === "info").length, 0);
  });

  it("DUROXIDE_LOG_LEVEL sets the level (a directive string can open runtime debug logs)", async () => {
    const prev = process.env["DUROXIDE_LOG_LEVEL"];
    try {
      process.env["DUROXIDE_LOG_LEVEL"] = "warn";
      const quiet: LogRecord[] = [];
      await runWorkload({ logSink: (r) => quiet.push(r) });
      assert.equal(quiet.filter((r) => r.target === "duroxide::orchestration").length, 0);

      process.env["DUROXIDE_LOG_LEVEL"] = "debug,duroxide::runtime=debug";
      const loud: LogRecord[] = [];
      await runWorkload({ logSink: (r) => loud.push(r) });
      const started = loud.find((r) => r.message === "Orchestration started");
      assert.ok(started, "runtime lifecycle debug record");
      assert.equal(started.fields["instance_id"], "t1");
      assert.equal(started.fields["orchestration_name"], "Traced");
      assert.equal(started.fields["is_continue_as_new"], false);
      assert.ok(loud.some((r) => r.message === "Orchestration completed"));
      const actDone = loud.filter((r) => r.message === "Activity completed");
      assert.equal(actDone.length, 3);
      assert.equal(actDone[0]!.fields["activity_name"], "Step");
      assert.equal(typeof actDone[0]!.fields["duration_ms"], "number");
      // The option wins over the env var.
      const opt: LogRecord[] = [];
      await runWorkload({ logLevel: "error", logSink: (r) => opt.push(r) });
      assert.equal(opt.length, 0);
    } finally {
      if (prev === undefined) delete process.env["DUROXIDE_LOG_LEVEL"];
      else process.env["DUROXIDE_LOG_LEVEL"] = prev;
    }
  });

  it("without a sink, logs go to stderr (JSON format here), never stdout", async () => {
    const { stdout, stderr } = await runWorkload({ logLevel: "info", logFormat: "json" });
    assertNoLogsOnStdout(stdout);
    const lines = stderr.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
    const traces = lines.filter((l) => l["target"] === "duroxide::orchestration");
    assert.equal(traces.length, 4);
    assert.equal(traces[0]!["instance_id"], "t1");
    assert.equal(traces[0]!["level"], "INFO");
    assert.equal(traces[0]!["message"], "before step 0");
  });

  it("human-readable format carries the fields as key=value", async () => {
    const { stdout, stderr } = await runWorkload({ logLevel: "info", logFormat: "compact" });
    assertNoLogsOnStdout(stdout);
    const line = stderr.split("\n").find((l) => l.includes("before step 1"));
    assert.ok(line);
    assert.match(line, /INFO duroxide::orchestration .*instance_id=t1 .*orchestration_name=Traced/);
  });
});
