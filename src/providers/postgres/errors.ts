// Maps pg and network failures onto ProviderError with a retryable flag dispatchers act on.
import { DuroxideError, ProviderError } from "../../model/errors.js";

/** SQLSTATEs that a retry can fix. */
const RETRYABLE_CODES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "57014", // query_canceled (statement timeout)
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53000", // insufficient_resources
  "53100", // disk_full
  "53200", // out_of_memory
  "53300", // too_many_connections
  "58000", // system_error
  "58030", // io_error
]);

/** SQLSTATE classes that are permanent: data, integrity, syntax/access rule violations. */
const PERMANENT_CLASSES = new Set(["22", "23", "2B", "3F", "42", "44"]);

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export const UNIQUE_VIOLATION = "23505";

export function pgCode(err: unknown): string | null {
  if (err && typeof err === "object" && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}

/** True for failures of the connection itself (the client should be discarded). */
export function isConnectionError(err: unknown): boolean {
  const code = pgCode(err);
  if (code !== null) {
    if (NETWORK_CODES.has(code)) return true;
    if (code.startsWith("08")) return true;
    if (code === "57P01" || code === "57P02" || code === "57P03") return true;
  }
  const message = err instanceof Error ? err.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

export function isRetryablePg(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  const code = pgCode(err);
  if (code === null) return true;
  if (RETRYABLE_CODES.has(code)) return true;
  if (PERMANENT_CLASSES.has(code.slice(0, 2))) return false;
  return true;
}

/** Converts anything thrown by a provider operation into a typed error (library errors pass through). */
export function toProviderError(operation: string, err: unknown): Error {
  if (err instanceof DuroxideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = pgCode(err);
  const text = code !== null && !NETWORK_CODES.has(code) ? `${code}: ${message}` : message;
  return new ProviderError(operation, text, isRetryablePg(err));
}
