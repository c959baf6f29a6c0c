// Instance key-value state: what the engine keeps per key and what providers store and return.

export interface KvEntry {
  value: string;
  lastUpdatedAtMs: number;
}
