// The wire codec for inputs and outputs: strings pass through as is, other values are JSON.
import { InvalidArgumentError } from "./errors.js";

/** duroxide-node convention: every value is JSON text; undefined becomes null. */
export function encodeJson(value: unknown, what = "value"): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new InvalidArgumentError(`${what} is not JSON-serialisable (${typeof value})`);
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
