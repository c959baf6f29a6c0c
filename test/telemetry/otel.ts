// The real OpenTelemetry SDK with in-memory exporters, for telemetry tests; and a printer that
// draws finished spans as a tree.
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import { openTelemetry, type OpenTelemetryOptions } from "../../src/telemetry/index.js";
import type { TelemetryHooks } from "../../src/index.js";

let contextManager: AsyncLocalStorageContextManager | undefined;
/** Context propagation through async calls (the application's SDK setup does this). */
export function enableContext(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

export interface Otel {
  tracerProvider: BasicTracerProvider;
  spans: InMemorySpanExporter;
  meterProvider: MeterProvider;
  telemetry: TelemetryHooks;
  /** Metrics as of now (cumulative). */
  collect(): Promise<MetricData[]>;
  shutdown(): Promise<void>;
}

export function setupOtel(options: OpenTelemetryOptions = {}): Otel {
  enableContext();
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = openTelemetry({ tracerProvider, meterProvider, ...options });
  return {
    tracerProvider,
    spans,
    meterProvider,
    telemetry,
    async collect() {
      metricExporter.reset();
      await reader.forceFlush();
      return metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The plain facts of a finished span that the tree and the assertions need (also what child processes write). */
export interface SpanRecord {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  startMs: number;
  attributes: Record<string, unknown>;
  events: string[];
  status: number;
  pid?: number;
}

export function record(s: ReadableSpan): SpanRecord {
  return {
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    startMs: s.startTime[0] * 1000 + s.startTime[1] / 1e6,
    attributes: { ...s.attributes },
    events: s.events.map((e) => e.name),
    status: s.status.code,
  };
}

/** An indented tree (children in start order); spans whose parent is not among them are roots. */
export function renderTree(spans: SpanRecord[], detail: (s: SpanRecord) => string = defaultDetail): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, SpanRecord[]>();
  for (const s of spans) {
    const p = s.parentSpanId !== undefined && ids.has(s.parentSpanId) ? s.parentSpanId : undefined;
    if (!children.has(p)) children.set(p, []);
    children.get(p)!.push(s);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const lines: string[] = [];
  const walk = (parent: string | undefined, indent: string): void => {
    for (const s of children.get(parent) ?? []) {
      lines.push(`${indent}${s.name}${detail(s)}`);
      walk(s.spanId, indent + "  ");
    }
  };
  walk(undefined, "");
  return lines.join("\n");
}

function defaultDetail(s: SpanRecord): string {
  const a = s.attributes;
  const bits: string[] = [];
  if (a["duroxide.instance_id"] !== undefined && !String(s.name).startsWith("activity")) bits.push(`instance=${String(a["duroxide.instance_id"])}`);
  if (a["duroxide.activity.attempt"] !== undefined) bits.push(`attempt=${String(a["duroxide.activity.attempt"])}`);
  if (a["duroxide.activity.outcome"] !== undefined) bits.push(`outcome=${String(a["duroxide.activity.outcome"])}`);
  if (a["duroxide.orchestration.status"] !== undefined) bits.push(`status=${String(a["duroxide.orchestration.status"])}`);
  if (s.pid !== undefined) bits.push(`pid=${s.pid}`);
  const events = s.events.filter((e) => e.startsWith("duroxide.timer") || e.startsWith("duroxide.event") || e.startsWith("duroxide.suborchestration.scheduled") || e.startsWith("duroxide.orchestration.detached"));
  if (events.length > 0) bits.push(`events: ${events.map((e) => e.replace("duroxide.", "")).join(", ")}`);
  return bits.length > 0 ? `  [${bits.join(" ")}]` : "";
}
