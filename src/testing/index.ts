// duroxide-ts/testing: replay verification and the deploy gate.
export { replayHistory, type ReplayHandlers, type ReplayOptions } from "./replay.js";
export { verifyInFlight, type VerifyFailure, type VerifyOptions, type VerifyResult } from "./verify.js";
export { NondeterminismError, OrchestrationNotRegisteredError, InvalidHistoryError } from "../model/errors.js";
export type { HistoryExport, ExportedExecution } from "../model/historyExport.js";
export { TestEnvironment, type TestEnvironmentOptions } from "./environment.js";
export { VirtualClock } from "./clock.js";
export type { Clock } from "../model/clock.js";
