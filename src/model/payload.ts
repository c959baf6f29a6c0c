// The single check every payload passes before it is stored: JSON must carry the value
// faithfully (otherwise the caller gets UnsupportedPayloadError naming the path), and the encoded
// text must fit its size limit. Used by the client, the orchestration context and the worker.
import { PayloadTooLargeError, UnsupportedPayloadError } from "./errors.js";

/** Largest input, output, activity result, event or queue message, in UTF-8 bytes of its JSON. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;
/**
 * Largest total of payload bytes (inputs, results, event data, outputs, KV values, custom status)
 * one execution's history may hold. A turn that would go past it fails the orchestration; a long
 * running orchestration stays under it with continue-as-new.
 */
export const MAX_HISTORY_PAYLOAD_BYTES_PER_EXECUTION = 32 * 1024 * 1024;

/**
 * Throws UnsupportedPayloadError unless JSON.parse(JSON.stringify(value)) gives the value back.
 * Accepted: null, booleans, finite numbers, strings, arrays without holes or `undefined`, and plain
 * objects (an `undefined` property is dropped, as an optional field). Anything else is rejected:
 * NaN/Infinity, BigInt, functions, symbols, class instances (Date, Map, Set, Buffer, ...) and cycles.
 */
export function assertJsonFaithful(value: unknown, what: string): void {
  // Strings, booleans, null and finite numbers need no walk (nor its allocations).
  const type = typeof value;
  if (type === "string" || type === "boolean" || value === null || (type === "number" && Number.isFinite(value))) return;
  // The path is built only when something fails: the walk itself keeps keys on a stack.
  const ancestors: object[] = [];
  const keys: Array<string | number> = [];
  const fail = (reason: string): never => {
    let path = "$";
    for (const k of keys) path += typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    throw new UnsupportedPayloadError(what, path, reason);
  };
  const visit = (v: unknown): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) fail(`${String(v)} is not a JSON number`);
        return;
      case "bigint":
        return fail("a BigInt is not a JSON number (send it as a string)");
      case "function":
        return fail("a function cannot be stored");
      case "symbol":
        return fail("a symbol cannot be stored");
      case "undefined":
        return fail("undefined would become null");
    }
    if (v === null) return;
    const o = v as object;
    if (ancestors.includes(o)) fail("the value refers to itself (a cycle)");
    ancestors.push(o);
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        keys.push(i);
        if (!(i in o)) fail("a hole in an array would become null");
        visit(o[i]);
        keys.pop();
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) {
        const name = (o as { constructor?: { name?: unknown } }).constructor?.name;
        fail(`a ${typeof name === "string" && name ? name : "class instance"} is not a plain object (convert it first, e.g. a Date to an ISO string)`);
      }
      for (const key in o) {
        if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
        const child = (o as Record<string, unknown>)[key];
        if (child === undefined) continue;
        keys.push(key);
        visit(child);
        keys.pop();
      }
    }
    ancestors.pop();
  };
  visit(value);
}

/** Throws PayloadTooLargeError when `text` is over `limit` UTF-8 bytes. */
export function assertPayloadSize(text: string, what: string, limit = MAX_PAYLOAD_BYTES): void {
  // A UTF-8 byte count is at most 3 per UTF-16 unit: skip the exact count for small texts.
  if (text.length * 3 <= limit) return;
  const n = Buffer.byteLength(text, "utf8");
  if (n > limit) throw new PayloadTooLargeError(what, n, limit);
}

/** The payload bytes of a stored text (used to account history size). */
export function payloadBytes(text: string | null | undefined): number {
  if (!text) return 0;
  return text.length < 128 ? text.length : Buffer.byteLength(text, "utf8");
}

/** The fields of events, work items and decisions that carry user payloads (strings). */
export const PAYLOAD_FIELDS = ["input", "result", "data", "output", "value", "status", "initialCustomStatus", "heartbeatDetails"] as const;

/** Payload bytes an event (or a decision about to become one) adds to its execution's history. */
export function historyPayloadBytes(e: object): number {
  let n = 0;
  const r = e as Record<string, unknown>;
  for (const f of PAYLOAD_FIELDS) {
    const v = r[f];
    if (typeof v === "string") n += payloadBytes(v);
  }
  const carried = r["carryForwardEvents"];
  if (Array.isArray(carried)) for (const c of carried) if (Array.isArray(c) && typeof c[1] === "string") n += payloadBytes(c[1]);
  return n;
}
