// The one check for every identifier handed to the library (instance ids, orchestration and
// activity names, event and queue names, KV keys, session ids, tags, versions), applied at the
// API boundary so both stores see exactly the same set of strings:
//   - a non-empty string of well-formed UTF-16 (no lone surrogate: SQLite would store its bytes
//     and read back U+FFFD, so the row could never be matched again; PostgreSQL would fold every
//     lone surrogate to U+FFFD, so two different ids would collide);
//   - no NUL (PostgreSQL text cannot hold one);
//   - at most MAX_IDENTIFIER_BYTES bytes of UTF-8 (PostgreSQL index rows are limited to ~2.7 KB).
import { InvalidIdentifierError } from "./errors.js";

/** Longest identifier, in UTF-8 bytes. */
export const MAX_IDENTIFIER_BYTES = 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `v` is not a valid identifier, or null when it is. */
export function identifierProblem(v: unknown): string | null {
  if (typeof v !== "string") return `must be a string, got ${v === null ? "null" : typeof v}`;
  if (v.length === 0) return "must not be empty";
  if (v.includes("\u0000")) return "must not contain NUL (U+0000)";
  const lone = LONE_SURROGATE.exec(v);
  if (lone) return `is not well-formed Unicode (lone surrogate U+${lone[0].charCodeAt(0).toString(16).toUpperCase()} at index ${lone.index})`;
  const bytes = Buffer.byteLength(v, "utf8");
  if (bytes > MAX_IDENTIFIER_BYTES) return `is ${bytes} bytes of UTF-8, over the limit of ${MAX_IDENTIFIER_BYTES}`;
  return null;
}

/**
 * Identifiers already found valid (validity depends on the string alone). The same few names are
 * checked on every step (activity names, event names): the surrogate scan and byte count run once.
 */
const known = new Set<string>();
const KNOWN_MAX = 4096;

/** Returns `v` when it is a valid identifier; throws InvalidIdentifierError naming `what` otherwise. */
export function checkIdentifier(what: string, v: unknown): string {
  if (typeof v === "string" && known.has(v)) return v;
  const problem = identifierProblem(v);
  if (problem !== null) throw new InvalidIdentifierError(what, problem);
  // Bounded: ids that are all different (instance ids) only cycle the set.
  if (known.size >= KNOWN_MAX) known.clear();
  known.add(v as string);
  return v as string;
}
