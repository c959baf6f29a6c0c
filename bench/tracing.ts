// `--tracing`: the runtime reports to a real OpenTelemetry SDK (spans through a BatchSpanProcessor,
// metrics into a MeterProvider with a reader), exporting to nowhere, so the figure is duroxide's
// instrumentation plus the SDK's own work, without any network. Loaded only with the flag.
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { openTelemetry } from "../src/telemetry/index.js";
import type { TelemetryHooks } from "../src/index.js";

class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

let contextEnabled = false;

export interface BenchTelemetry {
  telemetry: TelemetryHooks;
  /** Flushes and returns the number of spans exported. */
  finish(): Promise<number>;
}

export function benchTelemetry(): BenchTelemetry {
  if (!contextEnabled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextEnabled = true;
  }
  const exporter = new CountingExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 2_048 })] });
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 1_000 })],
  });
  return {
    telemetry: openTelemetry({ tracerProvider, meterProvider }),
    async finish() {
      await tracerProvider.forceFlush();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      return exporter.spans;
    },
  };
}
