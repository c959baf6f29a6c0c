// Traces with the real OpenTelemetry SDK (in-memory exporter): one trace from the span that called
// client.startOrchestration to every turn, activity, timer and child; parent/child structure;
// nothing from replay; failures and opt-in payload attributes; no trace without an SDK.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { Runtime, SqliteProvider, type HistoryEvent, type OrchestrationContext, type Provider, type RuntimeOptions } from "../../src/index.js";
import { PROVIDERS, openStore } from "../e2e/harness.js";
import { openTelemetry } from "../../src/telemetry/index.js";
import { record, renderTree, setupOtel, type Otel, type SpanRecord } from "./otel.js";

function registerTravel(rt: Runtime): void {
  rt.registerActivity("Book", async (_ctx, what: string) => `booked ${what}`);
  rt.registerActivity("Charge", async (_ctx, amount: number) => ({ charged: amount }));
  rt.registerActivity("Notify", async () => "sent");
  rt.registerOrchestration("Payment", async (ctx: OrchestrationContext, amount: number) => {
    return ctx.scheduleActivity("Charge", amount);
  });
  rt.registerOrchestration("Receipt", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Notify", null));
  rt.registerOrchestration("Trip", async (ctx: OrchestrationContext, input: { city: string }) => {
    const hotel = await ctx.scheduleActivity<string>("Book", input.city);
    await ctx.scheduleTimer(30);
    const paid = await ctx.scheduleSubOrchestrationWithId("Payment", "trip-payment", 120);
    await ctx.startOrchestration("Receipt", "trip-receipt", null);
    return { hotel, paid };
  });
}

async function runTrip(
  otel: Otel,
  options: RuntimeOptions = {},
  provider?: Provider,
): Promise<{ spans: SpanRecord[]; traceId: string; requestSpanId: string }> {
  provider ??= await SqliteProvider.inMemory();
  const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry, ...options });
  registerTravel(rt);
  await rt.start();
  try {
    const tracer = otel.tracerProvider.getTracer("app");
    const { traceId, spanId } = await tracer.startActiveSpan("POST /trips", async (span) => {
      await rt.client.startOrchestration("trip", "Trip", { city: "Lisbon" });
      span.end();
      return span.spanContext();
    });
    const status = await rt.client.waitForOrchestration("trip", 10_000);
    assert.equal(status.status, "Completed");
    assert.equal((await rt.client.waitForOrchestration("trip-receipt", 10_000)).status, "Completed");
    // A turn's span ends just after its ack, which is what the waits see: let the last ones end.
    await finalTurns(otel, ["trip", "trip-payment", "trip-receipt"]);
    return { spans: otel.spans.getFinishedSpans().map(record), traceId, requestSpanId: spanId };
  } finally {
    await rt.shutdown();
  }
}

/** Waits until the turn that ended each instance has exported its span. */
async function finalTurns(otel: Otel, instances: string[]): Promise<void> {
  const end = Date.now() + 5_000;
  for (;;) {
    const done = new Set(
      otel.spans
        .getFinishedSpans()
        .filter((s) => s.attributes["duroxide.orchestration.status"] !== undefined)
        .map((s) => String(s.attributes["duroxide.instance_id"])),
    );
    if (instances.every((i) => done.has(i))) return;
    if (Date.now() > end) throw new Error(`final turn spans missing for ${instances.filter((i) => !done.has(i)).join(", ")}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function byName(spans: SpanRecord[], name: string): SpanRecord[] {
  return spans.filter((s) => s.name === name);
}
function one(spans: SpanRecord[], name: string): SpanRecord {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `exactly one span '${name}', got ${found.length}`);
  return found[0]!;
}
function parentOf(spans: SpanRecord[], s: SpanRecord): SpanRecord {
  const p = spans.find((x) => x.spanId === s.parentSpanId);
  assert.ok(p, `span '${s.name}' has its parent among the exported spans`);
  return p;
}

describe("telemetry: traces", () => {
  it("puts a workflow with activities, a timer, a child and a detached start in the caller's trace", async () => {
    const otel = setupOtel();
    const { spans, traceId, requestSpanId } = await runTrip(otel);
    if (process.env["PRINT_TRACE"]) process.stdout.write(`\n${renderTree(spans)}\n`);

    for (const s of spans) assert.equal(s.traceId, traceId, `span '${s.name}' is in the request's trace`);

    const start = one(spans, "start_orchestration Trip");
    assert.equal(start.parentSpanId, requestSpanId);
    const exec = one(spans, "orchestration Trip");
    assert.equal(exec.parentSpanId, start.spanId);
    assert.equal(exec.attributes["duroxide.instance_id"], "trip");
    assert.equal(exec.attributes["duroxide.execution_id"], 1);
    assert.equal(exec.attributes["duroxide.orchestration.name"], "Trip");
    assert.equal(exec.attributes["duroxide.orchestration.version"], "1.0.0");
    assert.equal(exec.attributes["duroxide.orchestration.initiated_by"], "client");

    const turns = byName(spans, "turn Trip");
    assert.ok(turns.length >= 4, `turns of Trip: ${turns.length}`);
    for (const t of turns) assert.equal(t.parentSpanId, exec.spanId);
    const last = turns.sort((a, b) => a.startMs - b.startMs)[turns.length - 1]!;
    assert.equal(last.attributes["duroxide.orchestration.status"], "Completed");

    const book = one(spans, "activity Book");
    assert.equal(parentOf(spans, book).name, "turn Trip");
    assert.equal(book.attributes["duroxide.activity.attempt"], 1);
    assert.equal(book.attributes["duroxide.activity.outcome"], "success");
    assert.match(String(book.attributes["duroxide.worker_id"]), /^work-/);
    assert.equal(book.attributes["duroxide.activity.id"], 2);
    assert.equal(book.attributes["duroxide.input"], undefined, "payloads are not recorded unless asked");

    // The timer: created in one turn, fired in a later one.
    const events = turns.flatMap((t) => t.events);
    assert.equal(events.filter((e) => e === "duroxide.timer.created").length, 1);
    assert.equal(events.filter((e) => e === "duroxide.timer.fired").length, 1);
    assert.equal(events.filter((e) => e === "duroxide.suborchestration.scheduled").length, 1);
    assert.equal(events.filter((e) => e === "duroxide.orchestration.detached_start").length, 1);

    // The child and the detached start are children of the turn that started them.
    const payment = one(spans, "orchestration Payment");
    assert.equal(parentOf(spans, payment).name, "turn Trip");
    assert.equal(payment.attributes["duroxide.orchestration.initiated_by"], "parent");
    const charge = one(spans, "activity Charge");
    assert.equal(parentOf(spans, parentOf(spans, charge)).spanId, payment.spanId);
    const receipt = one(spans, "orchestration Receipt");
    assert.equal(parentOf(spans, receipt).name, "turn Trip");
    one(spans, "activity Notify");
    await otel.shutdown();
  });

  it("emits no spans from replay: replaying every turn gives exactly the same spans", async () => {
    const shape = (spans: SpanRecord[]): string[] =>
      spans.map((s) => `${s.name} ${s.events.join(",")}`).sort();
    const cached = setupOtel();
    const a = await runTrip(cached);
    const replaying = setupOtel();
    const b = await runTrip(replaying, { replayEveryTurn: true });
    assert.deepEqual(shape(b.spans), shape(a.spans));
    // Each activity appears once; each timer event once.
    for (const r of [a, b]) {
      assert.equal(r.spans.filter((s) => s.name.startsWith("activity ")).length, 3);
      assert.equal(r.spans.flatMap((s) => s.events).filter((e) => e === "duroxide.timer.created").length, 1);
    }
    await cached.shutdown();
    await replaying.shutdown();
  });

  for (const kind of PROVIDERS) {
    it(`[${kind}] the stored contexts survive the store: one trace, same structure`, async () => {
      const otel = setupOtel({ metrics: false });
      const store = await openStore(kind);
      const provider = await store.open();
      try {
        const { spans, traceId } = await runTrip(otel, {}, provider);
        for (const s of spans) assert.equal(s.traceId, traceId);
        for (const a of spans.filter((s) => s.name.startsWith("activity "))) assert.match(parentOf(spans, a).name, /^turn /);
        assert.equal(parentOf(spans, one(spans, "orchestration Payment")).name, "turn Trip");
        assert.equal(spans.length, 16);
      } finally {
        await provider.close();
        await store.destroy();
        await otel.shutdown();
      }
    });
  }

  it("continue-as-new: each execution's span is a child of the turn that continued, in one trace", async () => {
    const otel = setupOtel({ metrics: false });
    const rt = new Runtime(await SqliteProvider.inMemory(), { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    rt.registerActivity("Tick", async (_ctx, n: number) => n + 1);
    rt.registerOrchestration("Counter", async (ctx: OrchestrationContext, n: number) => {
      const next = await ctx.scheduleActivity<number>("Tick", n);
      if (next < 3) return ctx.continueAsNew(next);
      return next;
    });
    await rt.start();
    await rt.client.startOrchestration("c", "Counter", 0);
    assert.equal((await rt.client.waitForOrchestration("c", 10_000)).output, 3);
    await rt.shutdown();
    const spans = otel.spans.getFinishedSpans().map(record);
    const execs = byName(spans, "orchestration Counter").sort((a, b) => Number(a.attributes["duroxide.execution_id"]) - Number(b.attributes["duroxide.execution_id"]));
    assert.deepEqual(execs.map((e) => e.attributes["duroxide.execution_id"]), [1, 2, 3]);
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
    assert.equal(execs[0]!.parentSpanId, one(spans, "start_orchestration Counter").spanId);
    for (const i of [1, 2]) {
      const parent = parentOf(spans, execs[i]!);
      assert.equal(parent.name, "turn Counter");
      assert.equal(parent.attributes["duroxide.execution_id"], i);
      assert.equal(parent.attributes["duroxide.orchestration.status"], "ContinuedAsNew");
      assert.equal(execs[i]!.attributes["duroxide.orchestration.initiated_by"], "continueAsNew");
    }
    assert.equal(byName(spans, "activity Tick").length, 3);
    await otel.shutdown();
  });

  it("stores the trace context with the work: the execution's context in OrchestrationStarted", async () => {
    const otel = setupOtel();
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    registerTravel(rt);
    await rt.start();
    await rt.client.startOrchestration("p", "Payment", 5);
    assert.equal((await rt.client.waitForOrchestration("p", 10_000)).status, "Completed");
    await rt.shutdown();
    const history: HistoryEvent[] = await provider.read("p");
    const started = history[0]!;
    assert.equal(started.type, "OrchestrationStarted");
    const exec = one(otel.spans.getFinishedSpans().map(record), "orchestration Payment");
    assert.ok(started.type === "OrchestrationStarted" && started.trace);
    assert.equal(started.trace.traceparent, `00-${exec.traceId}-${exec.spanId}-01`);
    await otel.shutdown();
  });

  it("marks a failed activity and a failed orchestration with error status and category", async () => {
    const otel = setupOtel();
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    class CardDeclined extends Error {
      override name = "CardDeclined";
    }
    rt.registerActivity("Charge", async () => {
      throw new CardDeclined("card declined");
    });
    rt.registerOrchestration("Pay", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Charge", 1));
    await rt.start();
    await rt.client.startOrchestration("f", "Pay", null);
    assert.equal((await rt.client.waitForOrchestration("f", 10_000)).status, "Failed");
    await rt.shutdown();
    const spans = otel.spans.getFinishedSpans().map(record);
    const charge = one(spans, "activity Charge");
    assert.equal(charge.status, SpanStatusCode.ERROR);
    assert.equal(charge.attributes["duroxide.activity.outcome"], "failed");
    assert.equal(charge.attributes["duroxide.error.category"], "application");
    assert.equal(charge.attributes["error.type"], "CardDeclined");
    const failedTurn = byName(spans, "turn Pay").find((t) => t.attributes["duroxide.orchestration.status"] === "Failed");
    assert.ok(failedTurn);
    assert.equal(failedTurn.status, SpanStatusCode.ERROR);
    assert.equal(failedTurn.attributes["duroxide.error.category"], "application");
    await otel.shutdown();
  });

  it("records inputs and outputs only when asked, capped in size", async () => {
    const otel = setupOtel({ recordPayloads: { maxLength: 12 } });
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    rt.registerActivity("Echo", async (_ctx, s: string) => s);
    rt.registerOrchestration("E", async (ctx: OrchestrationContext, s: string) => ctx.scheduleActivity("Echo", s));
    await rt.start();
    await rt.client.startOrchestration("e", "E", "short");
    await rt.client.startOrchestration("e2", "E", "a much longer input than twelve");
    await rt.client.waitForOrchestration("e", 10_000);
    await rt.client.waitForOrchestration("e2", 10_000);
    await rt.shutdown();
    const spans = otel.spans.getFinishedSpans().map(record);
    const echo = spans.filter((s) => s.name === "activity Echo" && s.attributes["duroxide.instance_id"] === "e")[0]!;
    assert.equal(echo.attributes["duroxide.input"], '"short"');
    assert.equal(echo.attributes["duroxide.output"], '"short"');
    const long = spans.filter((s) => s.name === "activity Echo" && s.attributes["duroxide.instance_id"] === "e2")[0]!;
    assert.equal(long.attributes["duroxide.input"], '"a much long…');
    const exec = spans.find((s) => s.name === "orchestration E" && s.attributes["duroxide.instance_id"] === "e")!;
    assert.equal(exec.attributes["duroxide.input"], '"short"');
    await otel.shutdown();
  });

  it("runs the activity with its span active, so the application's own spans nest under it", async () => {
    const otel = setupOtel();
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    const tracer = otel.tracerProvider.getTracer("app");
    rt.registerActivity("Fetch", async () => {
      await tracer.startActiveSpan("GET /rates", async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        span.end();
      });
      return 1;
    });
    rt.registerOrchestration("F", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Fetch", null));
    await rt.start();
    await rt.client.startOrchestration("f", "F", null);
    await rt.client.waitForOrchestration("f", 10_000);
    await rt.shutdown();
    const spans = otel.spans.getFinishedSpans().map(record);
    assert.equal(parentOf(spans, one(spans, "GET /rates")).name, "activity Fetch");
    await otel.shutdown();
  });

  it("without a registered TracerProvider stores no trace context and changes nothing", async () => {
    // The global provider is the API's no-op proxy here (tests pass their providers explicitly).
    const hooks = openTelemetry({ metrics: false });
    assert.equal(trace.getTracerProvider().getTracer("x").startSpan("probe").isRecording(), false);
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: hooks });
    registerTravel(rt);
    await rt.start();
    await rt.client.startOrchestration("n", "Payment", 1);
    assert.equal((await rt.client.waitForOrchestration("n", 10_000)).status, "Completed");
    await rt.shutdown();
    const history = await provider.read("n");
    assert.ok(history.length > 0);
    for (const e of history) assert.equal((e as { trace?: unknown }).trace, undefined);
  });
});
