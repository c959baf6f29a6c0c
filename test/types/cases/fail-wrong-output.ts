// A wrong use of an output is a tsc error, and a failed race branch is not typed as a value.
import { Client, defineOrchestration, type OrchestrationContext } from "../../../src/index.js";
import { charge, greet, processOrder } from "./shared.js";

export const o = defineOrchestration("O", async (ctx: OrchestrationContext) => {
  const n: number = await ctx.call(greet, "x"); // expect-error TS2322
  const paid = await ctx.call(charge, { id: "o", amount: 1 });
  paid.paymentID.toUpperCase(); // expect-error TS2551
  const [a] = await ctx.all([ctx.call(greet, "x")]);
  a.ok.toUpperCase(); // expect-error TS18048
  const r = await ctx.raceSettled(ctx.call(greet, "x"), ctx.scheduleTimer(5));
  r.value; // expect-error TS2339
  if (r.ok && r.index === 1) r.value.toUpperCase(); // expect-error TS18047
  return n;
});

export async function read(client: Client): Promise<number> {
  return client.result(processOrder, "x"); // expect-error TS2322
}
