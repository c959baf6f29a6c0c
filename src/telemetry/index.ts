// OpenTelemetry for duroxide: `openTelemetry()` returns the hooks the runtime and the client call.
// This is the only module that imports @opentelemetry/api (an optional peer dependency): code that
// does not import `duroxide-ts/telemetry` never loads it.
import { metrics, trace, type Attributes, type MeterProvider, type TracerProvider } from "@opentelemetry/api";
import { DUROXIDE_VERSION } from "../model/events.js";
import type { RuntimeAttachment, TelemetryHooks } from "../observability/hooks.js";
import { OtelMetrics } from "./metrics.js";
import { Tracing } from "./tracing.js";

export { ATTR as TELEMETRY_ATTRIBUTES, SPAN as SPAN_NAMES } from "./attributes.js";
export type { TraceCarrier } from "../model/trace.js";
export type { TelemetryHooks } from "../observability/hooks.js";

export const INSTRUMENTATION_NAME = "duroxide";

export interface OpenTelemetryOptions {
  /** Default: the global TracerProvider (`trace.setGlobalTracerProvider`, or the SDK's `register()`). */
  tracerProvider?: TracerProvider;
  /** Default: the global MeterProvider. */
  meterProvider?: MeterProvider;
  /** Spans (default true). */
  traces?: boolean;
  /** Metrics through the Meter API (default true). The runtime's MetricsSink and metricsSnapshot() work either way. */
  metrics?: boolean;
  /**
   * Record orchestration and activity inputs/outputs as span attributes (`duroxide.input`,
   * `duroxide.output`). Off by default: payloads may hold personal data. `true` caps each value at
   * 1024 characters; `{ maxLength }` sets the cap.
   */
  recordPayloads?: boolean | { maxLength: number };
  /**
   * `service.name` / `service.version` attributes on duroxide's spans and metric points. Default:
   * the runtime's `serviceName` / `serviceVersion` options. (Resource attributes belong to the SDK.)
   */
  serviceName?: string;
  serviceVersion?: string;
}

/** Hooks that put duroxide's work in the application's OpenTelemetry traces and metrics. */
export function openTelemetry(options: OpenTelemetryOptions = {}): TelemetryHooks {
  let service: Attributes = {};
  const setService = (name: string | undefined, version: string | undefined): void => {
    service = {
      ...(name !== undefined ? { "service.name": name } : {}),
      ...(version !== undefined ? { "service.version": version } : {}),
    };
  };
  setService(options.serviceName, options.serviceVersion);
  const serviceAttributes = (): Attributes => service;

  const rp = options.recordPayloads;
  const payloads = {
    record: rp === true || (typeof rp === "object" && rp !== null),
    maxLength: typeof rp === "object" && rp !== null && Number.isInteger(rp.maxLength) && rp.maxLength > 0 ? rp.maxLength : 1024,
  };
  const tracing =
    options.traces === false
      ? undefined
      : new Tracing((options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, DUROXIDE_VERSION), payloads, serviceAttributes);
  const meters =
    options.metrics === false
      ? undefined
      : new OtelMetrics((options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, DUROXIDE_VERSION), serviceAttributes);

  const noStart = { context: undefined, end: () => undefined };
  const noTurn = { executionContext: undefined, workContext: undefined, ids: undefined, end: () => undefined };
  const noActivity = { ids: undefined, run: <T>(fn: () => T): T => fn(), end: () => undefined };
  return {
    startQueued: (req) => (tracing ? tracing.startQueued(req) : noStart),
    turnStarted: (info) => (tracing ? tracing.turnStarted(info) : noTurn),
    activityStarted: (info) => (tracing ? tracing.activityStarted(info) : noActivity),
    activeSpanIds: () => tracing?.activeSpanIds(),
    ...(meters ? { metricsSink: meters } : {}),
    attachRuntime: (rt: RuntimeAttachment) => {
      if (options.serviceName === undefined && (rt.serviceName !== undefined || rt.serviceVersion !== undefined))
        setService(rt.serviceName, rt.serviceVersion ?? options.serviceVersion);
      return meters ? meters.attach({ runtimeId: rt.runtimeId, gauges: rt.gauges }) : () => undefined;
    },
  };
}
