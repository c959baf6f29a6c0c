// Public API of Duroxide for TypeScript.
export { Runtime } from "./runtime/runtime.js";
export type { RuntimeOptions, WorkerTagFilter } from "./runtime/options.js";
export { MAX_WORKER_TAGS, MAX_TAG_NAME_BYTES } from "./runtime/options.js";
export type { ActivityHandler } from "./runtime/registry.js";
export { Client } from "./client/client.js";
export type { HistoryEventView } from "./client/eventView.js";
export { OrchestrationContext } from "./orchestration/context.js";
export type { ActivityOptions } from "./orchestration/context.js";
export { DurableFuture } from "./orchestration/future.js";
export type { JoinResult, RaceResult, Task } from "./orchestration/combinators.js";
export type { OrchestrationHandler } from "./orchestration/handler.js";
export { ActivityContext } from "./activity/context.js";
export { SqliteProvider } from "./providers/sqlite/sqliteProvider.js";
export { PostgresProvider, type PostgresProviderOptions } from "./providers/postgres/postgresProvider.js";
export type { PostgresEntraOptions } from "./providers/postgres/entra.js";
export type { Provider } from "./providers/provider.js";
export { initTracing } from "./observability/logger.js";
export type { MetricsSink, MetricsSnapshot } from "./observability/metrics.js";
export * from "./model/errors.js";
export type { HistoryEvent, EventKind, EventType } from "./model/events.js";
export type { HistoryExport, ExportedExecution } from "./model/historyExport.js";
export { HISTORY_FORMAT, HISTORY_FORMAT_VERSION } from "./model/historyExport.js";
export type { WorkItem } from "./model/workItems.js";
export type { OrchestrationStatus, InstanceState, ExecutionStatus } from "./model/status.js";

/** KV and custom status limits (current reference values). */
export { MAX_KV_KEYS, MAX_KV_VALUE_BYTES, MAX_CUSTOM_STATUS_BYTES } from "./orchestration/limits.js";
export type { RetryPolicy, BackoffStrategy } from "./orchestration/retry.js";
export { delayForAttempt, resolveRetryPolicy, DEFAULT_BACKOFF, RETRY_TIMEOUT_MESSAGE } from "./orchestration/retry.js";

/** Management API (duroxide-node shapes); its errors come from model/errors with the rest. */
export type {
  DeleteInstanceResult,
  ExecutionInfo,
  InstanceFilter,
  InstanceInfo,
  InstancePage,
  InstanceSummary,
  InstanceTree,
  ListInstancesOptions,
  OrchestrationStats,
  PruneOptions,
  PruneResult,
  QueueDepths,
  SystemMetrics,
  DeadLetter,
  ListDeadLettersOptions,
} from "./providers/admin.js";
/** Observability: structured logging and metrics sinks. */
export { Logger, FileLogWriter, formatRecord, parseLogLevel, parseLogFormat, METRIC_NAMES, RuntimeMetrics } from "./observability/index.js";
export type { LogRecord, LogSink, LogLevel, LogFormat, TracingOptions, HistogramSummary } from "./observability/index.js";
/** Telemetry hooks (implemented by `duroxide-ts/telemetry`) and the pino-compatible logger option. */
export type { ClientOptions, StartOptions } from "./client/client.js";
export type { TraceCarrier } from "./model/trace.js";
export type {
  ActivityAttemptInfo,
  ActivityOutcome,
  ActivityTelemetry,
  GaugeSources,
  RuntimeAttachment,
  SpanIds,
  StartRequest,
  StartTelemetry,
  TelemetryHooks,
  TurnEnd,
  TurnInfo,
  TurnTelemetry,
} from "./observability/hooks.js";
export type { PinoLikeLogger } from "./observability/pino.js";
/** Payload limits, checked where a value is handed over (see README "Payloads"). */
export { MAX_PAYLOAD_BYTES, MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION } from "./model/payload.js";
/** The payload codec seam (encryption, compression) for any provider. */
export { withPayloadCodec, type PayloadCodec } from "./definitions/codec.js";
export { MAX_IDENTIFIER_BYTES } from "./model/identifiers.js";
/** Typed definitions (defineActivity / defineOrchestration) with Standard Schema validation. */
export {
  defineActivity,
  defineOrchestration,
  type ActivityDefinition,
  type ActivityDefinitionOptions,
  type AnyDefinition,
  type OrchestrationDefinition,
  type OrchestrationDefinitionOptions,
} from "./definitions/define.js";
export type { ActivityRef, OrchestrationRef, InputOf, OutputOf } from "./model/definitions.js";
export type { CallOptions, SubOrchestrationCallOptions } from "./orchestration/context.js";
export type { RaceOutcome, SelectResult, JoinResults, JoinValues, TaskValue } from "./orchestration/combinators.js";
