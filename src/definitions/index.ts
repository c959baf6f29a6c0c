// Typed definitions, Standard Schema checks and the payload codec seam.
export {
  defineActivity,
  defineOrchestration,
  type ActivityDefinition,
  type ActivityDefinitionOptions,
  type AnyDefinition,
  type HandlerOutput,
  type OrchestrationDefinition,
  type OrchestrationDefinitionOptions,
} from "./define.js";
export { withPayloadCodec, type PayloadCodec } from "./codec.js";
