export {
  Logger,
  FileLogWriter,
  LOG_TARGETS,
  formatRecord,
  getDefaultLogger,
  initTracing,
  parseLogFormat,
  parseLogLevel,
  setDefaultLogger,
} from "./logger.js";
export type {
  LogFieldValue,
  LogFields,
  LogFieldsInput,
  LogFormat,
  LogLevel,
  LogLevelFilter,
  LogRecord,
  LogSink,
  LogWriter,
  LoggerOptions,
  TracingOptions,
} from "./logger.js";
export { Histogram, METRIC_NAMES, RuntimeMetrics, classifyProviderError } from "./metrics.js";
export type {
  ActivityFailureCategory,
  ActivityLabels,
  HistogramSummary,
  Labels,
  MetricsSink,
  MetricsSnapshot,
  OrchestrationCompletionInfo,
  OrchestrationFailureCategory,
  OrchestrationLabels,
  OrchestrationStartInfo,
  ProviderErrorType,
} from "./metrics.js";
