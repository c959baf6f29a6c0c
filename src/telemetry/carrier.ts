// W3C traceparent <-> OpenTelemetry span context. Written by us rather than through the global
// propagator, so the stored form does not depend on how the application configured propagation.
import { ROOT_CONTEXT, createTraceState, isSpanContextValid, trace, type Context, type SpanContext } from "@opentelemetry/api";
import type { TraceCarrier } from "../model/trace.js";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The stored form of a span context; undefined for an invalid one (no SDK, no span). */
export function toCarrier(sc: SpanContext): TraceCarrier | undefined {
  if (!isSpanContextValid(sc)) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, "0");
  const carrier: TraceCarrier = { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` };
  const state = sc.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** A span context read back from storage (remote: another process, or an earlier one, made it). */
export function fromCarrier(carrier: TraceCarrier | undefined): SpanContext | undefined {
  if (!carrier || typeof carrier.traceparent !== "string") return undefined;
  const m = TRACEPARENT.exec(carrier.traceparent);
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  if (typeof carrier.tracestate === "string" && carrier.tracestate.length > 0) sc.traceState = createTraceState(carrier.tracestate);
  return isSpanContextValid(sc) ? sc : undefined;
}

/** Parsed once per carrier object: a cached execution hands the same one to each of its turns. */
const parsed = new WeakMap<TraceCarrier, Context | null>();

/** A context whose parent span is the stored one (undefined when there is none). */
export function parentContext(carrier: TraceCarrier | undefined): Context | undefined {
  if (!carrier || typeof carrier !== "object") return undefined;
  let ctx = parsed.get(carrier);
  if (ctx === undefined) {
    const sc = fromCarrier(carrier);
    ctx = sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : null;
    parsed.set(carrier, ctx);
  }
  return ctx ?? undefined;
}
