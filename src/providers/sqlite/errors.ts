// Maps SQLite failures onto ProviderError with a retryable flag dispatchers can act on.
import { DuroxideError, ProviderError } from "../../model/errors.js";

const RETRYABLE_PREFIXES = ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_PROTOCOL", "SQLITE_CANTOPEN"];
const PERMANENT_PREFIXES = [
  "SQLITE_CONSTRAINT",
  "SQLITE_MISMATCH",
  "SQLITE_TOOBIG",
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_READONLY",
  "SQLITE_MISUSE",
  "SQLITE_RANGE",
  "SQLITE_ERROR",
];

function sqliteCode(err: unknown): string | null {
  if (err && typeof err === "object" && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
  }
  return null;
}

export function isConstraintError(err: unknown): boolean {
  return sqliteCode(err)?.startsWith("SQLITE_CONSTRAINT") ?? false;
}

/** Converts anything thrown by a provider operation into a typed error (library errors pass through). */
export function toProviderError(operation: string, err: unknown): Error {
  if (err instanceof DuroxideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = sqliteCode(err);
  if (code !== null) {
    if (RETRYABLE_PREFIXES.some((p) => code.startsWith(p))) return new ProviderError(operation, `${code}: ${message}`, true);
    if (PERMANENT_PREFIXES.some((p) => code.startsWith(p))) return new ProviderError(operation, `${code}: ${message}`, false);
    return new ProviderError(operation, `${code}: ${message}`, true);
  }
  // better-sqlite3 throws TypeError for a closed connection: nothing a retry can fix.
  if (err instanceof TypeError && /not open/i.test(message)) return new ProviderError(operation, message, false);
  return new ProviderError(operation, message, true);
}
