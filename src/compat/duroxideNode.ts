// Typings for the duroxide-node alias names (opt-in): `import "duroxide-ts/compat"` makes TypeScript
// accept `ctx.scheduleActivityTyped(...)`, `client.raiseEventTyped(...)` and the rest. The aliases
// themselves are always installed (./aliases.ts), so JavaScript written for duroxide-node runs
// without this import. Each alias has exactly the signature of the primary method it forwards to.
export { CLIENT_ALIASES, CONTEXT_ALIASES, RUNTIME_ALIASES } from "./aliases.js";

declare module "../orchestration/context.js" {
  interface OrchestrationContext {
    /** duroxide-node alias of {@link OrchestrationContext.scheduleActivity}. */
    scheduleActivityTyped: OrchestrationContext["scheduleActivity"];
    /** duroxide-node alias of {@link OrchestrationContext.scheduleActivityOnSession}. */
    scheduleActivityOnSessionTyped: OrchestrationContext["scheduleActivityOnSession"];
    /** duroxide-node alias of {@link OrchestrationContext.scheduleActivityWithRetry}. */
    scheduleActivityWithRetryTyped: OrchestrationContext["scheduleActivityWithRetry"];
    /** duroxide-node alias of {@link OrchestrationContext.scheduleActivityWithRetryOnSession}. */
    scheduleActivityWithRetryOnSessionTyped: OrchestrationContext["scheduleActivityWithRetryOnSession"];
    /** duroxide-node alias of {@link OrchestrationContext.scheduleSubOrchestration}. */
    scheduleSubOrchestrationTyped: OrchestrationContext["scheduleSubOrchestration"];
    /** duroxide-node alias of {@link OrchestrationContext.scheduleSubOrchestrationWithId}. */
    scheduleSubOrchestrationWithIdTyped: OrchestrationContext["scheduleSubOrchestrationWithId"];
    /** duroxide-node alias of {@link OrchestrationContext.waitForEvent}. */
    waitForEventTyped: OrchestrationContext["waitForEvent"];
    /** duroxide-node alias of {@link OrchestrationContext.dequeueEvent}. */
    dequeueEventTyped: OrchestrationContext["dequeueEvent"];
    /** duroxide-node alias of {@link OrchestrationContext.startOrchestration}. */
    startOrchestrationTyped: OrchestrationContext["startOrchestration"];
    /** duroxide-node alias of {@link OrchestrationContext.startOrchestrationVersioned}. */
    startOrchestrationVersionedTyped: OrchestrationContext["startOrchestrationVersioned"];
    /** duroxide-node alias of {@link OrchestrationContext.continueAsNew}. */
    continueAsNewTyped: OrchestrationContext["continueAsNew"];
    /** duroxide-node alias of {@link OrchestrationContext.all}. */
    allTyped: OrchestrationContext["all"];
    /** duroxide-node alias of {@link OrchestrationContext.race}. */
    raceTyped: OrchestrationContext["race"];
    /** Rust-seed alias of {@link OrchestrationContext.setValue}. */
    setKvValue: OrchestrationContext["setValue"];
    /** Rust-seed alias of {@link OrchestrationContext.getValue}. */
    getKvValue: OrchestrationContext["getValue"];
    /** Rust-seed alias of {@link OrchestrationContext.clearValue}. */
    clearKvValue: OrchestrationContext["clearValue"];
    /** Rust-seed alias of {@link OrchestrationContext.clearAllValues}. */
    clearAllKvValues: OrchestrationContext["clearAllValues"];
    /** Rust-seed alias of {@link OrchestrationContext.setValueTyped}. */
    setKvValueTyped: OrchestrationContext["setValueTyped"];
    /** Rust-seed alias of {@link OrchestrationContext.getValueTyped}. */
    getKvValueTyped: OrchestrationContext["getValueTyped"];
    /** Rust-seed alias of {@link OrchestrationContext.getValueFromInstance}. */
    getKvValueFromInstance: OrchestrationContext["getValueFromInstance"];
  }
}

declare module "../client/client.js" {
  interface Client {
    /** duroxide-node alias of {@link Client.startOrchestration}. */
    startOrchestrationTyped: Client["startOrchestration"];
    /** duroxide-node alias of {@link Client.startOrchestrationVersioned}. */
    startOrchestrationVersionedTyped: Client["startOrchestrationVersioned"];
    /** duroxide-node alias of {@link Client.raiseEvent}. */
    raiseEventTyped: Client["raiseEvent"];
    /** duroxide-node alias of {@link Client.enqueueEvent}. */
    enqueueEventTyped: Client["enqueueEvent"];
  }
}

declare module "../runtime/runtime.js" {
  interface Runtime {
    /** duroxide-node alias of {@link Runtime.registerActivity}. */
    registerActivityTyped: Runtime["registerActivity"];
    /** duroxide-node alias of {@link Runtime.registerOrchestration}. */
    registerOrchestrationTyped: Runtime["registerOrchestration"];
    /** duroxide-node alias of {@link Runtime.registerOrchestrationVersioned}. */
    registerOrchestrationVersionedTyped: Runtime["registerOrchestrationVersioned"];
  }
}
