// Row codecs for the PostgreSQL provider: the shared codec plus pg value helpers.
export * from "../codec.js";

/** BIGINT and COUNT columns arrive as strings from pg unless parsed; accept both. */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  if (typeof v === "bigint") return Number(v);
  return 0;
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

/** Sets an own enumerable property, even for keys like "__proto__" that plain assignment mishandles. */
export function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
