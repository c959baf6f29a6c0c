// Parsing of option values (times, counts, JSON payloads) into typed values or one-line usage errors.
import { readFileSync } from "node:fs";
import { CliError, EXIT } from "./errors.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO date ("2026-01-31", "2026-01-31T12:00:00Z"), milliseconds since the
 * epoch, or an age relative to now ("15m", "2h", "7d" mean that long ago).
 */
export function parseTime(value: string, what: string, nowMs = Date.now()): number {
  const v = value.trim();
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(v);
  if (rel) return nowMs - Number(rel[1]) * UNITS[rel[2]!]!;
  if (/^\d{10,}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isFinite(t) && /^\d{4}-\d{2}-\d{2}/.test(v)) return t;
  throw new CliError(`${what}: expected an ISO date, epoch milliseconds or an age like 15m/2h/7d, got '${value}'`, EXIT.usage);
}

export function parseCount(value: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new CliError(`${what}: expected an integer in ${min}..${max}, got '${value}'`, EXIT.usage);
  return n;
}

/** A JSON payload given inline, as `-` (stdin) or `@file`; absent means "no data" (null). */
export function parseJsonArg(value: string | undefined, what: string): unknown {
  if (value === undefined) return null;
  let text = value;
  if (value === "-") text = readFileSync(0, "utf8");
  else if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch (err) {
      throw new CliError(`${what}: cannot read ${value.slice(1)}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

const STATUSES = ["Running", "Completed", "Failed", "ContinuedAsNew"] as const;
export type StatusName = (typeof STATUSES)[number];

/** Status names, case-insensitive ("running", "failed"). */
export function parseStatus(value: string): StatusName {
  const s = STATUSES.find((x) => x.toLowerCase() === value.trim().toLowerCase());
  if (!s) throw new CliError(`--status: expected one of ${STATUSES.join(", ")}, got '${value}'`, EXIT.usage);
  return s;
}
