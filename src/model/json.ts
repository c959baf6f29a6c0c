// The wire codec for inputs and outputs: strings pass through as is, other values are JSON.
// Every payload the library stores is encoded here, so this is the one place values are checked.
import { InvalidArgumentError } from "./errors.js";
import { assertJsonFaithful, assertPayloadSize, MAX_PAYLOAD_BYTES } from "./payload.js";

/**
 * duroxide-node convention: every value is JSON text; a top-level undefined becomes null. A value
 * JSON cannot carry faithfully (UnsupportedPayloadError, naming the path) or whose text is over
 * `limit` bytes (PayloadTooLargeError) is rejected here, at the call, before anything is stored.
 */
export function encodeJson(value: unknown, what = "value", limit = MAX_PAYLOAD_BYTES): string {
  if (value === undefined) return "null";
  assertJsonFaithful(value, what);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new InvalidArgumentError(`${what} is not JSON-serialisable (${typeof value})`);
  assertPayloadSize(text, what, limit);
  return text;
}

/** Parse JSON text; text that is not JSON is returned as the raw string. */
export function decodeJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
