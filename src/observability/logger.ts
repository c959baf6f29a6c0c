/**
 * Small, dependency-free structured logger.
 *
 * Semantics (see duroxide-semantics.md §6.1):
 * - Targets are `::`-separated paths (`duroxide::orchestration`, `duroxide::activity`,
 *   `duroxide::runtime`, `duroxide::runtime::worker`, `duroxide::providers::sqlite`, ...).
 * - The default filter mirrors duroxide's `warn,duroxide::orchestration={level},duroxide::activity={level}`:
 *   user traces (orchestration/activity) log at the configured level (default `info`), runtime
 *   internals at `warn`. Unlike the reference, a configured level that is *quieter* than `warn`
 *   (e.g. `error`) also quiets the runtime internals.
 * - Output goes to stderr by default, never to stdout.
 */
import * as fs from "node:fs";
import type { SpanIds } from "./hooks.js";

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";
/** A level threshold: a `LogLevel`, or `off` to disable a target entirely. */
export type LogLevelFilter = LogLevel | "off";
export type LogFormat = "json" | "pretty" | "compact";
export type LogFieldValue = string | number | boolean | null;
export type LogFields = Record<string, LogFieldValue>;
/** Accepted as input: `undefined` values are dropped, which makes optional fields convenient. */
export type LogFieldsInput = Record<string, LogFieldValue | undefined>;

export interface LogRecord {
  level: LogLevel;
  target: string;
  message: string;
  timestampMs: number;
  fields: LogFields;
}

export type LogSink = (record: LogRecord) => void;

export interface LoggerOptions {
  /**
   * Level for the user-trace targets (`duroxide::orchestration`, `duroxide::activity`).
   * Runtime internals use the quieter of this level and `warn`, unless `filter`/`targets` say otherwise.
   * Falls back to env `DUROXIDE_LOG_LEVEL`, then `DUROXIDE_LOG`, then `info`.
   */
  level?: LogLevelFilter;
  /**
   * Directive string, e.g. `"debug,duroxide::runtime=info,duroxide::providers=off"`.
   * A bare level behaves like `level`; `target=level` sets the threshold for a target and its
   * `::` descendants (longest prefix wins). Overrides `level` and the env vars when given.
   */
  filter?: string;
  /** Extra per-target thresholds; applied after `level`/`filter` (they win). */
  targets?: Record<string, LogLevelFilter>;
  /** Falls back to env `DUROXIDE_LOG_FORMAT`, then `pretty`. */
  format?: LogFormat;
  /** Receives every enabled record. When given (and `stream` is not), nothing is written to stderr. */
  sink?: LogSink;
  /** Where formatted lines go. Default: `process.stderr` (unless `sink` or `writer` is given). */
  stream?: NodeJS.WritableStream;
  /** Custom line destination (e.g. a `FileLogWriter`); takes precedence over `stream`. */
  writer?: LogWriter;
  /** Default target for the `error/warn/info/debug/trace` helpers. Default `duroxide::runtime`. */
  target?: string;
  /** Fixed fields added to every record. */
  fields?: LogFieldsInput;
  /** Clock override (tests). Default `Date.now`. */
  clock?: () => number;
  /** Environment to read `DUROXIDE_LOG*` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Colourise pretty output. Default: only when the stream is a TTY and `NO_COLOR` is unset. */
  color?: boolean;
  /** The active span's ids, added as `trace_id`/`span_id` to records that carry none. */
  spanIds?: () => SpanIds | undefined;
}

const LEVEL_RANK: Readonly<Record<LogLevelFilter, number>> = {
  off: -1,
  error: 0,
  warn: 1,
  info: 2,
  debug: 3,
  trace: 4,
};

const LEVEL_LABEL: Readonly<Record<LogLevel, string>> = {
  error: "ERROR",
  warn: "WARN",
  info: "INFO",
  debug: "DEBUG",
  trace: "TRACE",
};

const LEVEL_COLOR: Readonly<Record<LogLevel, string>> = {
  error: "\u001b[31m",
  warn: "\u001b[33m",
  info: "\u001b[32m",
  debug: "\u001b[34m",
  trace: "\u001b[35m",
};

export const LOG_TARGETS = {
  orchestration: "duroxide::orchestration",
  activity: "duroxide::activity",
  runtime: "duroxide::runtime",
} as const;

const USER_TARGETS: readonly string[] = [LOG_TARGETS.orchestration, LOG_TARGETS.activity];
const RESERVED_JSON_KEYS = new Set(["ts", "level", "target", "message"]);
const MAX_TARGET_CACHE = 256;

export function parseLogLevel(value: string): LogLevelFilter | undefined {
  const v = value.trim().toLowerCase();
  if (v === "warning") return "warn";
  if (v === "none") return "off";
  return Object.prototype.hasOwnProperty.call(LEVEL_RANK, v) ? (v as LogLevelFilter) : undefined;
}

export function parseLogFormat(value: string): LogFormat | undefined {
  const v = value.trim().toLowerCase();
  return v === "json" || v === "pretty" || v === "compact" ? v : undefined;
}

/** Compiled filter: a default for user targets, a default for everything else, and per-target directives. */
interface CompiledFilter {
  userDefault: number;
  otherDefault: number;
  directives: Map<string, number>;
}

function quieter(a: number, b: number): number {
  return Math.min(a, b);
}

function baseFilter(level: LogLevelFilter): CompiledFilter {
  const rank = LEVEL_RANK[level];
  return { userDefault: rank, otherDefault: quieter(rank, LEVEL_RANK.warn), directives: new Map() };
}

/**
 * Parses a directive string. Returns undefined if any directive is invalid.
 * `"debug"` → user targets debug, others warn; `"duroxide=trace"` → everything under `duroxide` at trace.
 */
function parseLogFilter(spec: string): CompiledFilter | undefined {
  let filter: CompiledFilter | undefined;
  const directives = new Map<string, number>();
  const parts = spec.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      const lvl = parseLogLevel(part);
      if (lvl === undefined) return undefined;
      filter = baseFilter(lvl);
    } else {
      const target = part.slice(0, eq).trim();
      const lvl = parseLogLevel(part.slice(eq + 1));
      if (target.length === 0 || lvl === undefined) return undefined;
      directives.set(target, LEVEL_RANK[lvl]);
    }
  }
  const result = filter ?? baseFilter("info");
  for (const [t, r] of directives) result.directives.set(t, r);
  return result;
}

function targetMatches(target: string, prefix: string): boolean {
  return target === prefix || (target.startsWith(prefix) && target.startsWith("::", prefix.length));
}

function thresholdFor(filter: CompiledFilter, target: string): number {
  let best: string | undefined;
  for (const prefix of filter.directives.keys()) {
    if (targetMatches(target, prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  if (best !== undefined) return filter.directives.get(best) as number;
  for (const user of USER_TARGETS) {
    if (targetMatches(target, user)) return filter.userDefault;
  }
  return filter.otherDefault;
}

function sanitizeFields(input: LogFieldsInput | undefined, into: LogFields): void {
  if (input === undefined || input === null) return;
  for (const key of Object.keys(input)) {
    const v: unknown = input[key];
    if (v === undefined) continue;
    if (v === null || typeof v === "string" || typeof v === "boolean") into[key] = v;
    else if (typeof v === "number") into[key] = Number.isFinite(v) ? v : String(v);
    else if (typeof v === "bigint") into[key] = v.toString();
    else if (v instanceof Error) into[key] = v.stack ?? `${v.name}: ${v.message}`;
    else {
      // Defensive: JS callers may pass objects despite the types.
      try {
        into[key] = JSON.stringify(v) ?? String(v);
      } catch {
        into[key] = String(v);
      }
    }
  }
}

function escapeLine(s: string): string {
  return s.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

function formatValue(v: LogFieldValue): string {
  if (typeof v === "string") return v === "" || /[\s"=\\]/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}

/** Formats a record as one line (no trailing newline). Exported so custom sinks can reuse it. */
export function formatRecord(record: LogRecord, format: LogFormat, color = false): string {
  const ts = new Date(record.timestampMs).toISOString();
  if (format === "json") {
    const obj: Record<string, LogFieldValue> = {
      ts,
      level: LEVEL_LABEL[record.level],
      target: record.target,
      message: record.message,
    };
    for (const key of Object.keys(record.fields)) {
      const outKey = RESERVED_JSON_KEYS.has(key) ? `field_${key}` : key;
      obj[outKey] = record.fields[key] as LogFieldValue;
    }
    return JSON.stringify(obj);
  }
  const label = LEVEL_LABEL[record.level];
  let levelText = format === "pretty" ? label.padStart(5) : label;
  if (color) levelText = `${LEVEL_COLOR[record.level]}${levelText}\u001b[0m`;
  let line = `${ts} ${levelText} ${record.target}`;
  for (const key of Object.keys(record.fields)) {
    line += ` ${key}=${formatValue(record.fields[key] as LogFieldValue)}`;
  }
  return `${line} ${escapeLine(record.message)}`;
}

/** Destination for formatted lines (one call per record, no trailing newline). */
export interface LogWriter {
  /** `urgent` is true for error-level records: buffered writers should flush now. */
  writeLine(line: string, urgent: boolean): void;
  flush(): void;
  close(): void;
}

class StreamWriter implements LogWriter {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  writeLine(line: string): void {
    this.stream.write(line + "\n");
  }
  flush(): void {}
  close(): void {}
}

/**
 * Appends to a file with synchronous, buffered writes: lines are batched and flushed when the
 * buffer reaches 64 KiB, after a short delay, on error-level records, on `flush()` and at process exit.
 */
export class FileLogWriter implements LogWriter {
  private fd: number | undefined;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private failed = false;
  private readonly onExit = (): void => this.flush();
  private static readonly MAX_BUFFER = 64 * 1024;
  private static readonly FLUSH_DELAY_MS = 100;

  constructor(readonly file: string) {
    try {
      // No directories are created: a missing one is more likely a typo than a wish (duroxide-node
      // fails the same way), and creating it would hide that.
      this.fd = fs.openSync(file, "a");
    } catch (err) {
      // duroxide-node's wording, with the path and the system's reason (EACCES, ENOTDIR, ...).
      throw new Error(`Failed to open log file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    process.on("exit", this.onExit);
  }

  writeLine(line: string, urgent: boolean): void {
    if (this.fd === undefined) return;
    this.buffer.push(line + "\n");
    this.bufferedBytes += line.length + 1;
    if (urgent || this.bufferedBytes >= FileLogWriter.MAX_BUFFER) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, FileLogWriter.FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd === undefined || this.buffer.length === 0) return;
    const data = this.buffer.join("");
    this.buffer = [];
    this.bufferedBytes = 0;
    try {
      fs.writeSync(this.fd, data);
    } catch (err) {
      if (!this.failed) {
        this.failed = true;
        process.stderr.write(`duroxide: failed to write log file ${this.file}: ${String(err)}\n`);
      }
    }
  }

  close(): void {
    this.flush();
    process.removeListener("exit", this.onExit);
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // ignore
      }
      this.fd = undefined;
    }
  }
}

/** State shared by a logger and all of its children. */
class LoggerCore {
  readonly thresholds = new Map<string, number>();
  constructor(
    readonly filter: CompiledFilter,
    readonly format: LogFormat,
    readonly sink: LogSink | undefined,
    readonly writer: LogWriter | undefined,
    readonly clock: () => number,
    readonly color: boolean,
  ) {}

  threshold(target: string): number {
    let t = this.thresholds.get(target);
    if (t === undefined) {
      t = thresholdFor(this.filter, target);
      if (this.thresholds.size >= MAX_TARGET_CACHE) this.thresholds.clear();
      this.thresholds.set(target, t);
    }
    return t;
  }
}

export class Logger {
  private readonly core: LoggerCore;
  /** Default target of the level helpers. */
  readonly target: string;
  private readonly baseFields: LogFields;
  private readonly spanIds: (() => SpanIds | undefined) | undefined;

  constructor(opts: LoggerOptions = {}) {
    const env = opts.env ?? process.env;
    const problems: string[] = [];

    let filter: CompiledFilter | undefined;
    if (opts.filter !== undefined) {
      filter = parseLogFilter(opts.filter);
      if (filter === undefined) throw new TypeError(`invalid log filter: ${JSON.stringify(opts.filter)}`);
    } else if (opts.level !== undefined) {
      const lvl = parseLogLevel(opts.level);
      if (lvl === undefined) throw new TypeError(`invalid log level: ${JSON.stringify(opts.level)}`);
      filter = baseFilter(lvl);
    } else {
      for (const name of ["DUROXIDE_LOG_LEVEL", "DUROXIDE_LOG"]) {
        const raw = env[name];
        if (raw === undefined || raw.trim() === "") continue;
        filter = parseLogFilter(raw);
        if (filter !== undefined) break;
        problems.push(`ignoring invalid ${name}=${JSON.stringify(raw)}`);
      }
    }
    filter ??= baseFilter("info");
    if (opts.targets !== undefined) {
      for (const [t, l] of Object.entries(opts.targets)) {
        const lvl = parseLogLevel(l);
        if (lvl === undefined) throw new TypeError(`invalid log level for ${t}: ${JSON.stringify(l)}`);
        filter.directives.set(t, LEVEL_RANK[lvl]);
      }
    }

    let format: LogFormat | undefined = opts.format;
    if (format !== undefined && parseLogFormat(format) === undefined) {
      throw new TypeError(`invalid log format: ${JSON.stringify(format)}`);
    }
    if (format === undefined) {
      const raw = env["DUROXIDE_LOG_FORMAT"];
      if (raw !== undefined && raw.trim() !== "") {
        format = parseLogFormat(raw);
        if (format === undefined) problems.push(`ignoring invalid DUROXIDE_LOG_FORMAT=${JSON.stringify(raw)}`);
      }
    }
    format ??= "pretty";

    const stream =
      opts.writer !== undefined ? undefined : opts.stream ?? (opts.sink === undefined ? process.stderr : undefined);
    const writer = opts.writer ?? (stream === undefined ? undefined : new StreamWriter(stream));
    const isTty = stream !== undefined && (stream as { isTTY?: boolean }).isTTY === true;
    const color = opts.color ?? (format === "pretty" && isTty && env["NO_COLOR"] === undefined);

    this.core = new LoggerCore(filter, format, opts.sink, writer, opts.clock ?? Date.now, color);
    this.target = opts.target ?? LOG_TARGETS.runtime;
    this.baseFields = {};
    this.spanIds = opts.spanIds;
    sanitizeFields(opts.fields, this.baseFields);
    for (const p of problems) this.log("warn", LOG_TARGETS.runtime, p);
  }

  /** Internal: builds a logger around existing shared state. */
  private static derive(
    core: LoggerCore,
    target: string,
    fields: LogFields,
    spanIds: (() => SpanIds | undefined) | undefined,
  ): Logger {
    const l = Object.create(Logger.prototype) as {
      core: LoggerCore;
      target: string;
      baseFields: LogFields;
      spanIds: (() => SpanIds | undefined) | undefined;
    };
    l.core = core;
    l.target = target;
    l.baseFields = fields;
    l.spanIds = spanIds;
    return l as unknown as Logger;
  }

  /** Same output; records without `trace_id` get the ids of the span active when they are logged. */
  withSpanIds(spanIds: () => SpanIds | undefined): Logger {
    return Logger.derive(this.core, this.target, this.baseFields, spanIds);
  }

  get format(): LogFormat {
    return this.core.format;
  }

  /** Cheap check; call before building expensive fields on hot paths. */
  isEnabled(level: LogLevel, target: string = this.target): boolean {
    return LEVEL_RANK[level] <= this.core.threshold(target);
  }

  log(level: LogLevel, target: string, message: string, fields?: LogFieldsInput): void {
    const core = this.core;
    if (LEVEL_RANK[level] > core.threshold(target)) return;
    const merged: LogFields = { ...this.baseFields };
    sanitizeFields(fields, merged);
    if (this.spanIds !== undefined && merged["trace_id"] === undefined) {
      const ids = this.spanIds();
      if (ids !== undefined) {
        merged["trace_id"] = ids.traceId;
        merged["span_id"] = ids.spanId;
      }
    }
    const record: LogRecord = { level, target, message: String(message), timestampMs: core.clock(), fields: merged };
    if (core.sink !== undefined) {
      try {
        core.sink(record);
      } catch {
        // A broken sink must never break the runtime.
      }
    }
    if (core.writer !== undefined) {
      try {
        core.writer.writeLine(formatRecord(record, core.format, core.color), level === "error");
      } catch {
        // ignore
      }
    }
  }

  /** A logger with additional fixed fields (and optionally a different default target). */
  child(fields: LogFieldsInput, target: string = this.target): Logger {
    const merged: LogFields = { ...this.baseFields };
    sanitizeFields(fields, merged);
    return Logger.derive(this.core, target, merged, this.spanIds);
  }

  /** Same fields, different default target. */
  withTarget(target: string): Logger {
    return Logger.derive(this.core, target, this.baseFields, this.spanIds);
  }

  error(message: string, fields?: LogFieldsInput): void {
    this.log("error", this.target, message, fields);
  }
  warn(message: string, fields?: LogFieldsInput): void {
    this.log("warn", this.target, message, fields);
  }
  info(message: string, fields?: LogFieldsInput): void {
    this.log("info", this.target, message, fields);
  }
  debug(message: string, fields?: LogFieldsInput): void {
    this.log("debug", this.target, message, fields);
  }
  trace(message: string, fields?: LogFieldsInput): void {
    this.log("trace", this.target, message, fields);
  }

  /** Flushes buffered output (file logging). */
  flush(): void {
    this.core.writer?.flush();
  }

  /** Flushes and releases the output (closes a log file). The logger drops records afterwards. */
  close(): void {
    this.core.writer?.close();
  }
}

export interface TracingOptions {
  /** Append formatted lines to this file instead of stderr. */
  logFile?: string;
  /** A level (`info`) or a filter directive string (`debug,duroxide::runtime=info`). */
  logLevel?: string;
  /** `json` | `pretty` | `compact`. */
  logFormat?: string;
  /** Also (or, without logFile, instead of stderr) deliver records to this sink. */
  sink?: LogSink;
}

let defaultLogger: Logger | undefined;

/**
 * Sets the process-wide default logger (compatible with duroxide-node's
 * `initTracing({ logFile, logLevel, logFormat })`). May be called again to reconfigure;
 * the previous default logger is flushed and closed. Invalid level/format strings throw.
 */
export function initTracing(options: TracingOptions = {}): Logger {
  const opts: LoggerOptions = {};
  if (options.logLevel !== undefined) opts.filter = options.logLevel;
  if (options.logFormat !== undefined) {
    const f = parseLogFormat(options.logFormat);
    if (f === undefined) throw new TypeError(`invalid log format: ${JSON.stringify(options.logFormat)}`);
    opts.format = f;
  }
  if (options.sink !== undefined) opts.sink = options.sink;
  let logger: Logger;
  if (options.logFile !== undefined) {
    // Validate the options before opening the file.
    new Logger({ ...opts, sink: () => undefined });
    logger = new Logger({ ...opts, writer: new FileLogWriter(options.logFile) });
  } else {
    logger = new Logger(opts);
  }
  const previous = defaultLogger;
  defaultLogger = logger;
  previous?.close();
  return logger;
}

/** The process-wide default logger; created lazily from env vars (stderr) if not initialised. */
export function getDefaultLogger(): Logger {
  defaultLogger ??= new Logger();
  return defaultLogger;
}

/** Replaces the process-wide default logger (does not close the previous one). */
export function setDefaultLogger(logger: Logger): void {
  defaultLogger = logger;
}
