// Adapter for a pino-compatible logger (pino, or anything with the same `level(obj, msg)` calls):
// duroxide's records go to it as structured objects instead of to stderr.
import type { LogLevelFilter, LogRecord, LogSink } from "./logger.js";

type PinoLogFn = (obj: Record<string, unknown>, msg?: string) => void;

/** The part of pino's interface duroxide uses. */
export interface PinoLikeLogger {
  error: PinoLogFn;
  warn: PinoLogFn;
  info: PinoLogFn;
  debug: PinoLogFn;
  trace?: PinoLogFn;
  /** pino's current level name (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`). */
  level?: string;
}

export function isPinoLike(v: unknown): v is PinoLikeLogger {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return ["error", "warn", "info", "debug"].every((k) => typeof o[k] === "function");
}

/** duroxide's threshold for a pino level name (undefined: unknown or absent). */
export function pinoThreshold(logger: PinoLikeLogger): LogLevelFilter | undefined {
  switch (logger.level) {
    case "silent":
      return "off";
    case "fatal":
    case "error":
      return "error";
    case "warn":
    case "info":
    case "debug":
    case "trace":
      return logger.level;
    default:
      return undefined;
  }
}

/** A sink that writes each record as `logger[level]({ target, ...fields }, message)`. */
export function pinoSink(logger: PinoLikeLogger): LogSink {
  return (record: LogRecord) => {
    const fn = record.level === "trace" ? (logger.trace ?? logger.debug) : logger[record.level];
    fn.call(logger, { target: record.target, ...record.fields }, record.message);
  };
}
