// The `logger` option takes a pino logger (the real pino, writing to a captured stream); records
// carry trace_id/span_id of the activity attempt or orchestration turn they belong to.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { InvalidArgumentError, Runtime, SqliteProvider, type OrchestrationContext, type PinoLikeLogger } from "../../src/index.js";
import { record, setupOtel } from "./otel.js";

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("telemetry: logs", () => {
  it("writes records to a pino logger with target and fields, and trace/span ids of the active span", async () => {
    const otel = setupOtel();
    const out = capture();
    const logger = pino({ level: "info" }, out.stream);
    const rt = new Runtime(await SqliteProvider.inMemory(), { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry, logger });
    rt.registerActivity("Greet", async (ctx, name: string) => {
      ctx.traceInfo(`greeting ${name}`);
      return `Hello, ${name}!`;
    });
    rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => {
      ctx.traceInfo("orchestration says hi");
      return ctx.scheduleActivity("Greet", name);
    });
    await rt.start();
    await rt.client.startOrchestration("h", "Hello", "Ada");
    await rt.client.waitForOrchestration("h", 10_000);
    await rt.shutdown();

    const spans = otel.spans.getFinishedSpans().map(record);
    const activity = spans.find((s) => s.name === "activity Greet")!;
    const lines = out.lines();
    const greeting = lines.find((l) => l["msg"] === "greeting Ada");
    assert.ok(greeting, "the activity's trace went to pino");
    assert.equal(greeting["level"], 30);
    assert.equal(greeting["target"], "duroxide::activity");
    assert.equal(greeting["instance_id"], "h");
    assert.equal(greeting["trace_id"], activity.traceId);
    assert.equal(greeting["span_id"], activity.spanId);

    const hi = lines.filter((l) => l["msg"] === "orchestration says hi");
    assert.equal(hi.length, 1, "orchestration traces are silent on replay");
    const firstTurn = spans.filter((s) => s.name === "turn Hello").sort((a, b) => a.startMs - b.startMs)[0]!;
    assert.equal(hi[0]!["trace_id"], firstTurn.traceId);
    assert.equal(hi[0]!["span_id"], firstTurn.spanId);
    assert.equal(hi[0]!["target"], "duroxide::orchestration");

    const startedLine = lines.find((l) => l["msg"] === "duroxide runtime started");
    assert.ok(startedLine, "runtime records use pino's level (info) too");
    assert.equal(startedLine["trace_id"], undefined, "no span active: no ids");
    await otel.shutdown();
  });

  it("runtime records about a turn or an activity attempt carry its span ids", async () => {
    const otel = setupOtel();
    const out = capture();
    const rt = new Runtime(await SqliteProvider.inMemory(), {
      dispatcherPollIntervalMs: 10,
      telemetry: otel.telemetry,
      logger: pino({ level: "debug" }, out.stream),
    });
    rt.registerActivity("A", async () => 1);
    rt.registerOrchestration("O", async (ctx: OrchestrationContext) => ctx.scheduleActivity("A", null));
    await rt.start();
    await rt.client.startOrchestration("o", "O", null);
    await rt.client.waitForOrchestration("o", 10_000);
    await rt.shutdown();
    const spans = otel.spans.getFinishedSpans().map(record);
    const lines = out.lines();
    const completed = lines.find((l) => l["msg"] === "Orchestration completed");
    assert.ok(completed);
    assert.equal(completed["level"], 20);
    const lastTurn = spans.filter((s) => s.name === "turn O").sort((a, b) => a.startMs - b.startMs).pop()!;
    assert.equal(completed["span_id"], lastTurn.spanId, "runtime records about a turn carry its span");
    const activityDone = lines.find((l) => l["msg"] === "Activity completed");
    assert.equal(activityDone?.["span_id"], spans.find((s) => s.name === "activity A")!.spanId);
    await otel.shutdown();
  });

  it("rejects a logger that is not pino-compatible with a typed error", async () => {
    const provider = await SqliteProvider.inMemory();
    assert.throws(() => new Runtime(provider, { logger: { info: () => undefined } as unknown as PinoLikeLogger }), InvalidArgumentError);
  });

  it("a pino logger at warn keeps duroxide's info records out", async () => {
    const out = capture();
    const rt = new Runtime(await SqliteProvider.inMemory(), { dispatcherPollIntervalMs: 10, logger: pino({ level: "warn" }, out.stream) });
    rt.registerOrchestration("N", async () => 1);
    await rt.start();
    await rt.client.startOrchestration("n", "N", null);
    await rt.client.waitForOrchestration("n", 10_000);
    await rt.shutdown();
    assert.deepEqual(out.lines().filter((l) => (l["level"] as number) < 40), []);
  });
});
