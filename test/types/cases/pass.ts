// Everything here must compile: the typed API used as documented.
import { z } from "zod";
import { Client, Runtime, defineOrchestration, type JoinResult, type OrchestrationContext, type Provider } from "../../../src/index.js";
import { assertType, charge, greet, processOrder, reserve, type Equal } from "./shared.js";

export async function usage(provider: Provider): Promise<void> {
  const runtime = new Runtime(provider);
  runtime.register(greet, charge, reserve, processOrder);

  const client = new Client(provider);
  await client.start(processOrder, "order-1", { id: "o1", amount: 12.5 });
  const paymentId = await client.result(processOrder, "order-1", 5_000);
  assertType<Equal<typeof paymentId, string>>(true);
}

export const flow = defineOrchestration("Flow", async (ctx: OrchestrationContext, who: string) => {
  const greeting = await ctx.call(greet, who, { retry: { maxAttempts: 3 }, tag: "fast" });
  assertType<Equal<typeof greeting, string>>(true);

  // Input and output types inferred from the schemas.
  const reserved = await ctx.call(reserve, { id: "o1", items: [{ sku: "a", qty: 1 }] });
  assertType<Equal<typeof reserved, number>>(true);

  const child = await ctx.callSubOrchestration(processOrder, { id: "o2", amount: 3 }, { instanceId: "child-1" });
  assertType<Equal<typeof child, string>>(true);

  // all over a tuple: each entry typed by its task; failures are { err }.
  const [a, b] = await ctx.all([ctx.call(greet, "x"), ctx.call(charge, { id: "o", amount: 1 })]);
  assertType<Equal<typeof a, JoinResult<string>>>(true);
  assertType<Equal<typeof b, JoinResult<{ paymentId: string; cents: number }>>>(true);
  if (b.err === undefined) assertType<Equal<typeof b.ok, { paymentId: string; cents: number }>>(true);

  // join over a tuple: the values, typed.
  const [g, n] = await ctx.join([ctx.call(greet, "y"), ctx.call(reserve, { id: "o", items: [] })]);
  assertType<Equal<[typeof g, typeof n], [string, number]>>(true);

  // raceSettled: narrowed by the winner's index, failures distinguishable from values.
  const r = await ctx.raceSettled(ctx.call(charge, { id: "o", amount: 2 }), ctx.scheduleTimer(1_000), ctx.waitForEvent<"approve" | "deny">("decision"));
  if (r.ok) {
    if (r.index === 0) assertType<Equal<typeof r.value, { paymentId: string; cents: number }>>(true);
    if (r.index === 1) assertType<Equal<typeof r.value, null>>(true);
    if (r.index === 2) assertType<Equal<typeof r.value, "approve" | "deny">>(true);
  } else {
    assertType<Equal<typeof r.error, unknown>>(true);
  }

  // select: a failed winner throws, so the value is the winner's type.
  const s = await ctx.select(ctx.call(greet, "z"), ctx.scheduleTimer(10));
  if (s.index === 0) assertType<Equal<typeof s.value, string>>(true);
  else assertType<Equal<typeof s.value, null>>(true);

  // The string API is untouched.
  const legacy = await ctx.scheduleActivity<string>("Greet", "w");
  const all = await ctx.all<string>([ctx.scheduleActivity<string>("Greet", "v")]);
  assertType<Equal<typeof all, JoinResult<string>[]>>(true);
  return `${greeting}${legacy}`;
});

// Generators work too; the output type is the generator's return type.
export const gen = defineOrchestration("Gen", function* (ctx: OrchestrationContext, n: number) {
  yield ctx.scheduleTimer(n);
  return n * 2;
});
export async function startGen(client: Client): Promise<number> {
  await client.start(gen, "g", 5);
  return client.result(gen, "g");
}

// Output schema: the handle's output type is the schema's output.
export const parsed = defineOrchestration("Parsed", async () => "42", { output: z.string().transform((s) => Number(s)) });
export async function readParsed(client: Client): Promise<number> {
  return client.result(parsed, "p");
}
