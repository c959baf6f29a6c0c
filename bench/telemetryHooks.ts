// The instrumentation's own cost, without a store: the hook calls one hello orchestration makes
// (client start, two turns, one activity attempt, the metrics it records), against a real
// OpenTelemetry SDK (batch span processor) whose exporter drops everything. `node dist/bench/telemetryHooks.js [n]`
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { openTelemetry } from "../src/telemetry/index.js";
import { RuntimeMetrics } from "../src/observability/metrics.js";
import type { HistoryEvent, TelemetryHooks } from "../src/index.js";

const drop: SpanExporter = {
  export(_spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]) {
    done({ code: 0 });
  },
  async shutdown() {},
};

function event(type: string, extra: Record<string, unknown>): HistoryEvent {
  return { eventId: 2, sourceEventId: null, instanceId: "i", executionId: 1, timestampMs: Date.now(), duroxideVersion: "0.1.0", type, ...extra } as unknown as HistoryEvent;
}

function hello(t: TelemetryHooks, m: RuntimeMetrics): void {
  const base = { instanceId: "i", executionId: 1, orchestrationName: "Hello", orchestrationVersion: "1.0.0", workerId: "orch-1" };
  const start = t.startQueued({ instanceId: "i", orchestrationName: "Hello", version: null, input: '"x"' });
  start.end();
  const first = t.turnStarted({ ...base, newExecution: { parent: start.context, input: '"x"', initiatedBy: "client" } });
  first.end({ stored: true, status: "Running", delta: [event("OrchestrationStarted", {}), event("ActivityScheduled", { name: "Greet", input: '"x"' })], output: null, failure: null });
  const a = t.activityStarted({ ...base, activityName: "Greet", activityId: 2, attempt: 1, sessionId: null, tag: null, input: '"x"', parent: first.workContext });
  a.run(() => 1);
  a.end({ outcome: "success", result: '"Hello, x!"' });
  const second = t.turnStarted({ ...base, execution: first.executionContext });
  second.end({ stored: true, status: "Completed", delta: [event("ActivityCompleted", { result: '"Hello"' }), event("OrchestrationCompleted", { output: '"Hello"' })], output: '"Hello"', failure: null });
  m.orchItemsFetched(1);
  m.orchItemsFetched(1);
  m.workerItemsFetched(1);
  m.turnDuration("Hello", 1);
  m.turnDuration("Hello", 1);
  m.orchestrationStarted("Hello", { version: "1.0.0" });
  m.activitySucceeded("Greet", 1);
  m.orchestrationCompleted("Hello", undefined, { version: "1.0.0" });
}

async function measure(label: string, t: TelemetryHooks | null, n: number): Promise<void> {
  const m = new RuntimeMetrics(t?.metricsSink ? [t.metricsSink] : []);
  const noop = (): void => {
    m.orchItemsFetched(1);
    m.orchItemsFetched(1);
    m.workerItemsFetched(1);
    m.turnDuration("Hello", 1);
    m.turnDuration("Hello", 1);
    m.orchestrationStarted("Hello", { version: "1.0.0" });
    m.activitySucceeded("Greet", 1);
    m.orchestrationCompleted("Hello", undefined, { version: "1.0.0" });
  };
  const run = t ? () => hello(t, m) : noop;
  // Yield now and then, as a runtime does, so the batch span processor can hand spans on.
  const loop = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      run();
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
  };
  await loop(n / 4);
  const c0 = process.cpuUsage();
  await loop(n);
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ hooks: label, orchestrations: n, cpuUsPerOrch: Math.round(((c.user + c.system) / n) * 10) / 10 }) + "\n");
}

const n = Number(process.argv[2] ?? 20_000);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] });
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })],
});
await measure("none (in-memory metrics only)", null, n);
await measure("traces", openTelemetry({ tracerProvider, meterProvider, metrics: false }), n);
await measure("metrics", openTelemetry({ tracerProvider, meterProvider, traces: false }), n);
await measure("traces+metrics", openTelemetry({ tracerProvider, meterProvider }), n);
await tracerProvider.shutdown();
await meterProvider.shutdown();
