export * from "./errors.js";
export * from "./events.js";
export * from "./workItems.js";
export * from "./status.js";
export * from "./json.js";
