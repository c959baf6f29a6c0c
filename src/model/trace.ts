// Trace context stored with the work itself (work items and history), so an orchestration stays
// in one distributed trace across processes and restarts. Opaque to the engine and the stores:
// only the telemetry hooks read or write it.

/** A W3C trace context (https://www.w3.org/TR/trace-context/) in its header form. */
export interface TraceCarrier {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` */
  traceparent: string;
  tracestate?: string;
}
