// A wrong input is a tsc error: activities, sub-orchestrations, client starts, schema-typed inputs.
import { Client, defineOrchestration, type OrchestrationContext } from "../../../src/index.js";
import { charge, greet, processOrder, reserve } from "./shared.js";

export const o = defineOrchestration("O", async (ctx: OrchestrationContext) => {
  await ctx.call(greet, 42); // expect-error TS2345
  await ctx.call(charge, { id: "o", amount: "12" }); // expect-error TS2322
  await ctx.call(reserve, { id: "o", items: [{ sku: "a" }] }); // expect-error TS2741
  await ctx.callSubOrchestration(processOrder, { id: 7, amount: 1 }); // expect-error TS2322
  await ctx.call(processOrder, { id: "o", amount: 1 }); // expect-error TS2345
});

export async function start(client: Client): Promise<void> {
  await client.start(processOrder, "x", { id: "o" }); // expect-error TS2345
  await client.start(greet, "x", "name"); // expect-error TS2345
}
