// duroxide-node (and Rust seed) alias names, installed on the primary classes at load time so code
// written for duroxide-node runs unchanged. Each alias forwards to the one primary method that
// owns the concept; the primary classes do not declare them, so editors show each concept once.
// Their typings are opt-in: `import "duroxide-ts/compat"` (see ./duroxideNode.ts).

/** alias → primary method of OrchestrationContext. */
export const CONTEXT_ALIASES = {
  // duroxide-node "Typed" variants: every result is JSON-decoded here already.
  scheduleActivityTyped: "scheduleActivity",
  scheduleActivityOnSessionTyped: "scheduleActivityOnSession",
  scheduleActivityWithRetryTyped: "scheduleActivityWithRetry",
  scheduleActivityWithRetryOnSessionTyped: "scheduleActivityWithRetryOnSession",
  scheduleSubOrchestrationTyped: "scheduleSubOrchestration",
  scheduleSubOrchestrationWithIdTyped: "scheduleSubOrchestrationWithId",
  waitForEventTyped: "waitForEvent",
  dequeueEventTyped: "dequeueEvent",
  startOrchestrationTyped: "startOrchestration",
  startOrchestrationVersionedTyped: "startOrchestrationVersioned",
  continueAsNewTyped: "continueAsNew",
  allTyped: "all",
  raceTyped: "race",
  // The Rust seeds' KV names.
  setKvValue: "setValue",
  getKvValue: "getValue",
  clearKvValue: "clearValue",
  clearAllKvValues: "clearAllValues",
  setKvValueTyped: "setValueTyped",
  getKvValueTyped: "getValueTyped",
  getKvValueFromInstance: "getValueFromInstance",
} as const;

/** alias → primary method of Client. */
export const CLIENT_ALIASES = {
  startOrchestrationTyped: "startOrchestration",
  startOrchestrationVersionedTyped: "startOrchestrationVersioned",
  raiseEventTyped: "raiseEvent",
  enqueueEventTyped: "enqueueEvent",
} as const;

/** alias → primary method of Runtime. */
export const RUNTIME_ALIASES = {
  registerActivityTyped: "registerActivity",
  registerOrchestrationTyped: "registerOrchestration",
  registerOrchestrationVersionedTyped: "registerOrchestrationVersioned",
} as const;

/**
 * Adds each alias to `proto` as a method calling the primary (looked up on `this`, so subclasses
 * that override the primary are honoured). Like class methods, aliases are not enumerable.
 */
export function installAliases(proto: object, aliases: Readonly<Record<string, string>>): void {
  for (const [alias, primary] of Object.entries(aliases)) {
    if (typeof (proto as Record<string, unknown>)[primary] !== "function")
      throw new TypeError(`compat alias ${alias}: ${primary} is not a method`);
    Object.defineProperty(proto, alias, {
      value: {
        [alias](this: Record<string, (...args: unknown[]) => unknown>, ...args: unknown[]): unknown {
          return this[primary]!(...args);
        },
      }[alias],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}
