// Row codecs for the PostgreSQL provider: the shared codec plus pg value helpers.
export * from "../codec.js";

/** Sets an own enumerable property, even for keys like "__proto__" that plain assignment mishandles. */
export function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
