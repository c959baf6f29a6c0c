// Definitions the compile-time cases share.
import { z } from "zod";
import { defineActivity, defineOrchestration, type ActivityContext, type OrchestrationContext } from "../../../src/index.js";

export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export function assertType<T extends true>(_: T): void {}

export const greet = defineActivity("Greet", async (_ctx: ActivityContext, name: string) => `Hello, ${name}!`);
export const charge = defineActivity("Charge", async (_ctx: ActivityContext, order: { id: string; amount: number }) => ({
  paymentId: `pay-${order.id}`,
  cents: Math.round(order.amount * 100),
}));
export const Order = z.object({ id: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })) });
export const reserve = defineActivity("Reserve", async (_ctx, order) => order.items.length, { input: Order, output: z.number() });
export const processOrder = defineOrchestration(
  "ProcessOrder",
  async (ctx: OrchestrationContext, order: { id: string; amount: number }) => {
    const paid = await ctx.call(charge, order);
    return paid.paymentId;
  },
  { version: "2.0.0" },
);
