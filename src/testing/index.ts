// duroxide-ts/testing: replay verification and the deploy gate.
export { replayHistory, type ReplayHandlers, type ReplayOptions } from "./replay.js";
export { verifyInFlight, type VerifyFailure, type VerifyOptions, type VerifyResult } from "./verify.js";
export { NondeterminismError, OrchestrationNotRegisteredError, InvalidHistoryError } from "../model/errors.js";
export type { HistoryExport, ExportedExecution } from "../model/historyExport.js";
