// Spans for starts, executions, turns and activity attempts. Every span's parent comes from a
// context stored with the work (work item or history), never from process memory, so a turn or an
// activity run by another process, or after a restart, lands in the same trace. Spans are made for
// live work only: replayed history is never turned into spans, and each turn reports only its delta.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import type { HistoryEvent } from "../model/events.js";
import type { TraceCarrier } from "../model/trace.js";
import type {
  ActivityAttemptInfo,
  ActivityOutcome,
  ActivityTelemetry,
  SpanIds,
  StartRequest,
  StartTelemetry,
  TurnEnd,
  TurnInfo,
  TurnTelemetry,
} from "../observability/hooks.js";
import { ATTR, SPAN } from "./attributes.js";
import { parentContext, toCarrier } from "./carrier.js";

export interface PayloadPolicy {
  /** Record inputs and outputs as span attributes. */
  record: boolean;
  /** Longer values are cut to this many characters (and marked with a trailing `…`). */
  maxLength: number;
}

function capped(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

function idsOf(span: Span): SpanIds | undefined {
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

function errorMessageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Tracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly payloads: PayloadPolicy,
    private readonly serviceAttributes: () => Attributes,
  ) {}

  #payload(attrs: Attributes, key: string, value: string | null | undefined): void {
    if (this.payloads.record && value !== null && value !== undefined) attrs[key] = capped(value, this.payloads.maxLength);
  }

  startQueued(req: StartRequest): StartTelemetry {
    const attrs: Attributes = {
      ...this.serviceAttributes(),
      [ATTR.instanceId]: req.instanceId,
      [ATTR.orchestrationName]: req.orchestrationName,
    };
    if (req.version !== null) attrs[ATTR.orchestrationVersion] = req.version;
    this.#payload(attrs, ATTR.input, req.input);
    const span = this.tracer.startSpan(`${SPAN.start} ${req.orchestrationName}`, { kind: SpanKind.PRODUCER, attributes: attrs });
    return {
      context: toCarrier(span.spanContext()),
      end: (error?: unknown) => {
        if (error !== undefined) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessageOf(error) });
          if (error instanceof Error) span.recordException(error);
        }
        span.end();
      },
    };
  }

  turnStarted(info: TurnInfo): TurnTelemetry {
    const base: Attributes = {
      [ATTR.instanceId]: info.instanceId,
      [ATTR.executionId]: info.executionId,
      [ATTR.orchestrationName]: info.orchestrationName,
      [ATTR.orchestrationVersion]: info.orchestrationVersion,
    };
    let executionSpan: Span | undefined;
    let executionContext: TraceCarrier | undefined;
    let parent = parentContext(info.execution);
    if (info.newExecution) {
      const attrs: Attributes = { ...this.serviceAttributes(), ...base, [ATTR.initiatedBy]: info.newExecution.initiatedBy };
      this.#payload(attrs, ATTR.input, info.newExecution.input);
      executionSpan = this.tracer.startSpan(
        `${SPAN.orchestration} ${info.orchestrationName}`,
        { kind: SpanKind.INTERNAL, attributes: attrs },
        parentContext(info.newExecution.parent) ?? ROOT_CONTEXT,
      );
      executionContext = toCarrier(executionSpan.spanContext());
      parent = trace.setSpan(ROOT_CONTEXT, executionSpan);
    } else if (parent === undefined) {
      // An execution begun without a stored context (before tracing was on): it stays untraced,
      // rather than scattering one new trace per turn.
      return UNTRACED_TURN;
    }
    const turnSpan = this.tracer.startSpan(
      `${SPAN.turn} ${info.orchestrationName}`,
      { kind: SpanKind.INTERNAL, attributes: { ...base, [ATTR.workerId]: info.workerId } },
      parent,
    );
    return {
      executionContext,
      workContext: toCarrier(turnSpan.spanContext()),
      ids: idsOf(turnSpan),
      end: (outcome: TurnEnd) => this.#endTurn(turnSpan, executionSpan, outcome),
    };
  }

  #endTurn(turn: Span, execution: Span | undefined, o: TurnEnd): void {
    for (const e of o.delta) addHistoryEvent(turn, e);
    turn.setAttribute(ATTR.newEvents, o.delta.length);
    if (o.status !== "Running") {
      turn.setAttribute(ATTR.orchestrationStatus, o.status);
      if (o.status === "Completed" || o.status === "ContinuedAsNew") {
        if (this.payloads.record && o.output !== null) turn.setAttribute(ATTR.output, capped(o.output, this.payloads.maxLength));
      }
    }
    if (o.error !== undefined) {
      turn.setStatus({ code: SpanStatusCode.ERROR, message: errorMessageOf(o.error) });
      if (o.error instanceof Error) turn.recordException(o.error);
    } else if (!o.stored) {
      turn.setStatus({ code: SpanStatusCode.ERROR, message: "turn not stored (ack failed); it runs again" });
    } else if (o.status === "Failed" && o.failure) {
      turn.setAttribute(ATTR.errorCategory, o.failure.category);
      turn.setAttribute(ATTR.errorType, o.failure.category);
      turn.setStatus({ code: SpanStatusCode.ERROR, message: o.failure.message ?? o.failure.category });
    }
    turn.end();
    if (execution) {
      if (!o.stored || o.error !== undefined) execution.setStatus({ code: SpanStatusCode.ERROR, message: "execution start not stored" });
      execution.end();
    }
  }

  activityStarted(info: ActivityAttemptInfo): ActivityTelemetry {
    const parent = parentContext(info.parent);
    if (parent === undefined) return UNTRACED_ACTIVITY;
    const attrs: Attributes = {
      ...this.serviceAttributes(),
      [ATTR.instanceId]: info.instanceId,
      [ATTR.executionId]: info.executionId,
      [ATTR.orchestrationName]: info.orchestrationName,
      [ATTR.orchestrationVersion]: info.orchestrationVersion,
      [ATTR.activityName]: info.activityName,
      [ATTR.activityId]: info.activityId,
      [ATTR.attempt]: info.attempt,
      [ATTR.workerId]: info.workerId,
    };
    if (info.sessionId !== null) attrs[ATTR.sessionId] = info.sessionId;
    if (info.tag !== null) attrs[ATTR.tag] = info.tag;
    this.#payload(attrs, ATTR.input, info.input);
    const span = this.tracer.startSpan(`${SPAN.activity} ${info.activityName}`, { kind: SpanKind.CONSUMER, attributes: attrs }, parent);
    const active = trace.setSpan(parent, span);
    return {
      ids: idsOf(span),
      run: <T>(fn: () => T): T => context.with(active, fn),
      end: (o: ActivityOutcome) => {
        span.setAttribute(ATTR.outcome, o.outcome);
        if (o.outcome === "success") {
          if (this.payloads.record) span.setAttribute(ATTR.output, capped(o.result, this.payloads.maxLength));
        } else if (o.outcome === "failed") {
          span.setAttribute(ATTR.errorCategory, o.category);
          span.setAttribute(ATTR.errorType, o.errorName ?? o.category);
          span.setStatus({ code: SpanStatusCode.ERROR, message: o.message });
        } else if (o.outcome === "abandoned") {
          span.setStatus({ code: SpanStatusCode.ERROR, message: o.reason });
        }
        span.end();
      },
    };
  }

  activeSpanIds(): SpanIds | undefined {
    const span = trace.getSpan(context.active());
    return span ? idsOf(span) : undefined;
  }
}

const UNTRACED_TURN: TurnTelemetry = { executionContext: undefined, workContext: undefined, ids: undefined, end: () => undefined };
const UNTRACED_ACTIVITY: ActivityTelemetry = { ids: undefined, run: (fn) => fn(), end: () => undefined };

/**
 * What a turn did that has no span of its own (timers, waits, child and detached starts,
 * cancellations), as span events, from its new events only. Activities and children have spans;
 * the execution's end is the turn's `duroxide.orchestration.status`.
 */
function addHistoryEvent(span: Span, e: HistoryEvent): void {
  const at = e.timestampMs;
  switch (e.type) {
    case "TimerCreated":
      span.addEvent("duroxide.timer.created", { [ATTR.timerId]: e.eventId, [ATTR.timerFireAt]: new Date(e.fireAtMs).toISOString() }, at);
      return;
    case "TimerFired":
      span.addEvent("duroxide.timer.fired", { [ATTR.timerId]: e.sourceEventId ?? -1 }, at);
      return;
    case "ExternalSubscribed":
      span.addEvent("duroxide.event.waiting", { [ATTR.eventName]: e.name }, at);
      return;
    case "ExternalEvent":
      span.addEvent("duroxide.event.received", { [ATTR.eventName]: e.name }, at);
      return;
    case "QueueSubscribed":
      span.addEvent("duroxide.queue.waiting", { [ATTR.queueName]: e.name }, at);
      return;
    case "QueueEventDelivered":
      span.addEvent("duroxide.queue.received", { [ATTR.queueName]: e.name }, at);
      return;
    case "SubOrchestrationScheduled":
      span.addEvent("duroxide.suborchestration.scheduled", { [ATTR.childInstanceId]: e.instance, [ATTR.childName]: e.name }, at);
      return;
    case "OrchestrationChained":
      span.addEvent("duroxide.orchestration.detached_start", { [ATTR.childInstanceId]: e.instance, [ATTR.childName]: e.name }, at);
      return;
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "OrchestrationCancelRequested":
      span.addEvent("duroxide.cancel_requested", { reason: e.reason }, at);
      return;
    default:
      return;
  }
}
