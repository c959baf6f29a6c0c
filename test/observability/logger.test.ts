import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";

import {
  FileLogWriter,
  LOG_TARGETS,
  Logger,
  formatRecord,
  getDefaultLogger,
  initTracing,
  setDefaultLogger,
} from "../../src/observability/index.js";
import type { LogRecord } from "../../src/observability/index.js";

const ORCH = LOG_TARGETS.orchestration;
const ACT = LOG_TARGETS.activity;
const RT = LOG_TARGETS.runtime;
const FIXED_TS = Date.UTC(2026, 10, 23, 7, 0, 0, 0);

function collector(): { records: LogRecord[]; sink: (r: LogRecord) => void } {
  const records: LogRecord[] = [];
  return { records, sink: (r) => records.push(r) };
}

class MemoryStream extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  lines(): string[] {
    return this.chunks.join("").split("\n").filter((l) => l.length > 0);
  }
}

/** Runs fn while capturing process.stdout.write; returns what was written. */
function captureStdout(fn: () => void): string {
  const original = process.stdout.write;
  let written = "";
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    written += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return written;
}

function captureStderr(fn: () => void): string {
  const original = process.stderr.write;
  let written = "";
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    written += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return written;
}

test("default filter: info for user targets, warn for runtime internals", () => {
  const { records, sink } = collector();
  const log = new Logger({ sink, env: {} });
  assert.equal(log.isEnabled("info", ORCH), true);
  assert.equal(log.isEnabled("debug", ORCH), false);
  assert.equal(log.isEnabled("info", ACT), true);
  assert.equal(log.isEnabled("info", RT), false);
  assert.equal(log.isEnabled("warn", RT), true);
  assert.equal(log.isEnabled("info", "duroxide::runtime::worker"), false);
  assert.equal(log.isEnabled("info", "duroxide::orchestrationX"), false, "prefix match respects :: boundaries");
  log.log("info", ORCH, "user trace");
  log.log("debug", ORCH, "hidden");
  log.log("info", RT, "hidden runtime");
  log.log("warn", RT, "runtime warn");
  assert.deepEqual(
    records.map((r) => `${r.level}:${r.target}:${r.message}`),
    [`info:${ORCH}:user trace`, `warn:${RT}:runtime warn`],
  );
});

test("level option; 'error' silences runtime WARN too (unlike the reference)", () => {
  const { records, sink } = collector();
  const log = new Logger({ sink, level: "error", env: {} });
  log.log("warn", RT, "no");
  log.log("warn", ORCH, "no");
  log.log("error", RT, "yes");
  assert.deepEqual(records.map((r) => r.message), ["yes"]);

  const debug = new Logger({ sink, level: "debug", env: {} });
  assert.equal(debug.isEnabled("debug", ACT), true);
  assert.equal(debug.isEnabled("trace", ACT), false);
  assert.equal(debug.isEnabled("info", RT), false, "runtime stays at warn unless widened");

  const off = new Logger({ sink, level: "off", env: {} });
  assert.equal(off.isEnabled("error", RT), false);
  assert.equal(off.isEnabled("error", ORCH), false);
});

test("env vars DUROXIDE_LOG_LEVEL / DUROXIDE_LOG and filter directives", () => {
  const { sink } = collector();
  const a = new Logger({ sink, env: { DUROXIDE_LOG_LEVEL: "debug" } });
  assert.equal(a.isEnabled("debug", ORCH), true);
  const b = new Logger({ sink, env: { DUROXIDE_LOG: "WARN" } });
  assert.equal(b.isEnabled("info", ORCH), false);
  assert.equal(b.isEnabled("warn", ORCH), true);
  const c = new Logger({ sink, env: { DUROXIDE_LOG_LEVEL: "error", DUROXIDE_LOG: "trace" } });
  assert.equal(c.isEnabled("warn", ORCH), false, "DUROXIDE_LOG_LEVEL takes precedence");
  const d = new Logger({ sink, level: "trace", env: { DUROXIDE_LOG_LEVEL: "error" } });
  assert.equal(d.isEnabled("trace", ORCH), true, "explicit option beats env");

  const e = new Logger({ sink, env: { DUROXIDE_LOG_LEVEL: "info,duroxide::runtime=debug,duroxide::providers=off" } });
  assert.equal(e.isEnabled("debug", RT), true);
  assert.equal(e.isEnabled("debug", "duroxide::runtime::worker"), true);
  assert.equal(e.isEnabled("error", "duroxide::providers::sqlite"), false);
  assert.equal(e.isEnabled("debug", ORCH), false);

  const f = new Logger({ sink, filter: "duroxide=trace,duroxide::activity=error", env: {} });
  assert.equal(f.isEnabled("trace", RT), true);
  assert.equal(f.isEnabled("trace", ORCH), true);
  assert.equal(f.isEnabled("warn", ACT), false, "longest prefix wins");

  const g = new Logger({ sink, targets: { "duroxide::runtime": "info" }, env: {} });
  assert.equal(g.isEnabled("info", RT), true);

  // Real process.env is read when no env override is given.
  const saved = process.env["DUROXIDE_LOG_LEVEL"];
  process.env["DUROXIDE_LOG_LEVEL"] = "trace";
  try {
    assert.equal(new Logger({ sink }).isEnabled("trace", ORCH), true);
  } finally {
    if (saved === undefined) delete process.env["DUROXIDE_LOG_LEVEL"];
    else process.env["DUROXIDE_LOG_LEVEL"] = saved;
  }
});

test("invalid env values are ignored with a warning; invalid options throw", () => {
  const { records, sink } = collector();
  const log = new Logger({ sink, env: { DUROXIDE_LOG_LEVEL: "loud", DUROXIDE_LOG_FORMAT: "xml" } });
  assert.equal(log.isEnabled("info", ORCH), true);
  assert.equal(log.format, "pretty");
  assert.equal(records.length, 2);
  assert.ok(records.every((r) => r.level === "warn" && r.target === RT));
  assert.throws(() => new Logger({ sink, level: "loud" as "info" }), TypeError);
  assert.throws(() => new Logger({ sink, filter: "x=nope" }), TypeError);
  assert.throws(() => new Logger({ sink, format: "xml" as "json" }), TypeError);
});

test("JSON format: one parseable line per record with fields", () => {
  const stream = new MemoryStream();
  const log = new Logger({ stream, format: "json", env: {}, clock: () => FIXED_TS });
  log.log("info", ORCH, "hello \"world\"\nline2", {
    instance_id: "i-1",
    execution_id: 2,
    is_replaying: false,
    worker: null,
    skipped: undefined,
    message: "collides",
  });
  const lines = stream.lines();
  assert.equal(lines.length, 1);
  const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(obj, {
    ts: "2026-11-23T07:00:00.000Z",
    level: "INFO",
    target: ORCH,
    message: "hello \"world\"\nline2",
    instance_id: "i-1",
    execution_id: 2,
    is_replaying: false,
    worker: null,
    field_message: "collides",
  });
});

test("env DUROXIDE_LOG_FORMAT selects the format", () => {
  const stream = new MemoryStream();
  const log = new Logger({ stream, env: { DUROXIDE_LOG_FORMAT: "json" } });
  assert.equal(log.format, "json");
  log.warn("x");
  assert.equal((JSON.parse(stream.lines()[0]!) as { level: string }).level, "WARN");
});

test("compact and pretty formats", () => {
  const rec: LogRecord = {
    level: "info",
    target: ORCH,
    message: "started",
    timestampMs: FIXED_TS,
    fields: { instance_id: "abc", note: "two words", n: 3 },
  };
  assert.equal(
    formatRecord(rec, "compact"),
    '2026-11-23T07:00:00.000Z INFO duroxide::orchestration instance_id=abc note="two words" n=3 started',
  );
  assert.equal(
    formatRecord(rec, "pretty"),
    '2026-11-23T07:00:00.000Z  INFO duroxide::orchestration instance_id=abc note="two words" n=3 started',
  );
  assert.equal(formatRecord({ ...rec, message: "a\nb", fields: {} }, "compact").includes("\n"), false);
  const stream = new MemoryStream();
  new Logger({ stream, format: "compact", env: {}, clock: () => FIXED_TS }).log("error", RT, "boom", { e: "x" });
  assert.deepEqual(stream.lines(), ["2026-11-23T07:00:00.000Z ERROR duroxide::runtime e=x boom"]);
  // Non-TTY streams get no ANSI colours.
  const p = new MemoryStream();
  new Logger({ stream: p, format: "pretty", env: {} }).error("x");
  assert.equal(p.lines()[0]!.includes("\u001b["), false);
});

test("output goes to the given stream/sink and never to stdout; default is stderr", () => {
  const stream = new MemoryStream();
  const { records, sink } = collector();
  const out = captureStdout(() => {
    new Logger({ stream, env: {} }).log("warn", RT, "to stream");
    new Logger({ sink, env: {} }).log("warn", RT, "to sink");
    const err = captureStderr(() => {
      new Logger({ env: {} }).log("error", RT, "to stderr");
      new Logger({ env: {} }).log("info", ORCH, "to stderr too", { k: 1 });
      new Logger({ sink, env: {} }).log("error", RT, "sink only, not stderr");
    });
    assert.equal(err.split("\n").filter((l) => l.length > 0).length, 2);
    assert.ok(err.includes("to stderr"));
    assert.ok(!err.includes("sink only"));
  });
  assert.equal(out, "", "nothing may be written to stdout");
  assert.equal(stream.lines().length, 1);
  assert.deepEqual(records.map((r) => r.message), ["to sink", "sink only, not stderr"]);
});

test("sink and stream together both receive records; a throwing sink is contained", () => {
  const stream = new MemoryStream();
  const { records, sink } = collector();
  const log = new Logger({ sink, stream, env: {} });
  log.warn("both");
  assert.equal(records.length, 1);
  assert.equal(stream.lines().length, 1);
  const bad = new Logger({
    sink: () => {
      throw new Error("sink broke");
    },
    env: {},
  });
  assert.doesNotThrow(() => bad.error("x"));
});

test("child loggers add fixed fields, share the filter, and can change target", () => {
  const { records, sink } = collector();
  const root = new Logger({ sink, env: {}, fields: { service: "svc" }, clock: () => FIXED_TS });
  const orch = root.child({ instance_id: "i-1", execution_id: 1 }, ORCH);
  const act = orch.child({ activity_name: "Greet", execution_id: 7 }).withTarget(ACT);
  assert.equal(orch.target, ORCH);
  assert.equal(act.target, ACT);
  orch.info("orch says hi", { extra: true });
  act.info("act says hi");
  act.debug("hidden");
  root.info("hidden: runtime info");
  assert.equal(records.length, 2);
  assert.deepEqual(records[0], {
    level: "info",
    target: ORCH,
    message: "orch says hi",
    timestampMs: FIXED_TS,
    fields: { service: "svc", instance_id: "i-1", execution_id: 1, extra: true },
  });
  assert.deepEqual(records[1]!.fields, {
    service: "svc",
    instance_id: "i-1",
    execution_id: 7,
    activity_name: "Greet",
  });
  assert.equal(records[1]!.target, ACT);
  // Call-site fields override fixed ones; the parent is unchanged.
  orch.info("override", { instance_id: "other" });
  assert.equal(records[2]!.fields["instance_id"], "other");
  orch.info("again");
  assert.equal(records[3]!.fields["instance_id"], "i-1");
});

test("all level helpers", () => {
  const { records, sink } = collector();
  const log = new Logger({ sink, level: "trace", env: {}, target: ORCH });
  log.error("e");
  log.warn("w");
  log.info("i");
  log.debug("d");
  log.trace("t");
  assert.deepEqual(records.map((r) => r.level), ["error", "warn", "info", "debug", "trace"]);
  assert.ok(records.every((r) => r.target === ORCH));
});

test("initTracing writes to a log file, never stdout, and sets the default logger", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "duroxide-obs-"));
  const file = path.join(dir, "trace.log");
  const previous = getDefaultLogger();
  try {
    const out = captureStdout(() => {
      const err = captureStderr(() => {
        const log = initTracing({ logFile: file, logLevel: "debug", logFormat: "json" });
        assert.equal(getDefaultLogger(), log);
        log.log("debug", ORCH, "first", { instance_id: "i-9" });
        log.log("debug", RT, "filtered out");
        getDefaultLogger().child({ instance_id: "i-9" }, ACT).info("second");
        log.flush();
      });
      assert.equal(err, "");
    });
    assert.equal(out, "");
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines.length, 2);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(parsed[0]!["message"], "first");
    assert.equal(parsed[0]!["level"], "DEBUG");
    assert.equal(parsed[1]!["target"], ACT);
    assert.equal(parsed[1]!["instance_id"], "i-9");

    // Error records are flushed immediately; re-initialising appends and closes the old logger.
    const second = initTracing({ logFile: file, logFormat: "compact" });
    second.error("urgent");
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, /ERROR duroxide::runtime urgent\n$/);
    second.close();

    assert.throws(() => initTracing({ logFormat: "xml" }), TypeError);
    assert.throws(() => initTracing({ logLevel: "loud" }), TypeError);
  } finally {
    setDefaultLogger(previous);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("initTracing with a sink and no file delivers records to the sink only", () => {
  const previous = getDefaultLogger();
  const { records, sink } = collector();
  try {
    const err = captureStderr(() => {
      initTracing({ sink, logLevel: "info" }).log("info", ORCH, "via sink");
    });
    assert.equal(err, "");
    assert.deepEqual(records.map((r) => r.message), ["via sink"]);
  } finally {
    setDefaultLogger(previous);
  }
});

test("FileLogWriter buffers and flushes on a timer", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "duroxide-obs-"));
  const file = path.join(dir, "t.log");
  try {
    const log = new Logger({ writer: new FileLogWriter(file), format: "compact", env: {} });
    log.warn("buffered");
    await new Promise((r) => setTimeout(r, 250));
    assert.match(fs.readFileSync(file, "utf8"), /WARN duroxide::runtime buffered\n/);
    log.close();
    log.warn("after close is dropped");
    assert.equal(fs.readFileSync(file, "utf8").includes("after close"), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("isEnabled is cheap: disabled records do not evaluate or deliver anything", () => {
  let calls = 0;
  const log = new Logger({ sink: () => calls++, env: {} });
  for (let i = 0; i < 10_000; i++) {
    if (log.isEnabled("debug", RT)) log.debug("never");
    log.log("trace", ORCH, "never");
  }
  assert.equal(calls, 0);
});

test("initTracing on a log file that cannot be opened throws 'Failed to open log file' and keeps the default logger", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "duroxide-obs-"));
  const previous = getDefaultLogger();
  try {
    // Tests may run as root, where permission bits do not stop a write: use paths no one can open.
    const plainFile = path.join(dir, "plain");
    fs.writeFileSync(plainFile, "");
    // A directory that does not exist is not created (root could create it, so this one must fail).
    const missingDir = path.join(dir, "no-such-dir", "sub", "trace.log");
    for (const unwritable of [path.join(plainFile, "sub", "trace.log"), dir, missingDir]) {
      assert.throws(
        () => initTracing({ logFile: unwritable }),
        (err: unknown) => err instanceof Error && err.message.includes("Failed to open log file") && err.message.includes(unwritable),
      );
      assert.equal(getDefaultLogger(), previous, "a failed initTracing leaves the default logger in place");
    }
    assert.equal(fs.existsSync(path.join(dir, "no-such-dir")), false, "no directory was created");
  } finally {
    setDefaultLogger(previous);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
