// Limits enforced where orchestration code makes the offending call (current reference values).

/** Largest custom status, in UTF-8 bytes. */
export const MAX_CUSTOM_STATUS_BYTES = 256 * 1024;
/** Most KV keys one instance may hold (across turns and executions). */
export const MAX_KV_KEYS = 150;
/** Largest KV value, in UTF-8 bytes. */
export const MAX_KV_VALUE_BYTES = 65_536;
