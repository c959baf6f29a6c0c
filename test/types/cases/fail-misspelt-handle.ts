// A misspelt handle cannot be written: the names are identifiers now, not strings.
import { Runtime, defineOrchestration, type OrchestrationContext, type Provider } from "../../../src/index.js";
import { charge, greet } from "./shared.js";

export const o = defineOrchestration("O", async (ctx: OrchestrationContext) => {
  await ctx.call(greet, "ok");
  return ctx.call(chrage, { id: "o", amount: 1 }); // expect-error TS2552
});

export function setup(provider: Provider): void {
  new Runtime(provider).register(greet, charge, gret); // expect-error TS2552
}
