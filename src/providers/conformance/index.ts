export { runProviderConformance, type ProviderFactory, type ConformanceOptions } from "./suite.js";
export * as fixtures from "./fixtures.js";
