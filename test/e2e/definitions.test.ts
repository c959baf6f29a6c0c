// Typed definitions end to end, on both stores: handles registered with runtime.register, called
// with ctx.call / callSubOrchestration, started and read with client.start / client.result;
// Standard Schema (zod) inputs checked at the call site (nothing stored or scheduled on failure),
// outputs where the handler returns; versions; the typed race and tuple all at run time.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  ActivityFailedError,
  InvalidArgumentError,
  OrchestrationFailedError,
  ValidationError,
  defineActivity,
  defineOrchestration,
  type ActivityContext,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

const Order = z.object({
  id: z.string().min(1),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive().default(1) })).min(1),
});

const calls: string[] = [];
const reserve = defineActivity(
  "Reserve",
  async (_ctx, order) => {
    calls.push(`reserve ${order.id}`);
    return order.items.reduce((n, i) => n + i.qty, 0);
  },
  { input: Order, output: z.number().int() },
);
const quote = defineActivity("Quote", async (_ctx: ActivityContext, units: number) => (units === 13 ? 1.5 : units * 10), {
  output: z.number().int(),
});
const fail = defineActivity("Fail", async (_ctx: ActivityContext, why: string): Promise<string> => {
  throw new Error(why);
});
const slow = defineActivity("Slow", async (ctx: ActivityContext, ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return ctx.isCancelled() ? "cancelled" : "slow";
});

const pricing = defineOrchestration("Pricing", async (ctx: OrchestrationContext, order: z.input<typeof Order>) => {
  const units = await ctx.call(reserve, order);
  const price = await ctx.call(quote, units, { retry: { maxAttempts: 1 } });
  return { units, price };
}, { input: Order });

const pricingV2 = defineOrchestration("Pricing", async (ctx: OrchestrationContext, order: z.input<typeof Order>) => {
  const units = await ctx.call(reserve, order);
  return { units, price: -1 };
}, { version: "2.0.0", input: Order });

const parent = defineOrchestration("Parent", async (ctx: OrchestrationContext, id: string) => {
  // A bad input throws ValidationError here, synchronously, before anything is scheduled.
  let issues: string[] = [];
  try {
    await ctx.call(reserve, { id: "", items: [] });
  } catch (err) {
    if (err instanceof ValidationError) issues = err.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  }
  const child = await ctx.callSubOrchestration(pricing, { id, items: [{ sku: "a", qty: 2 }, { sku: "b" }] }, { instanceId: `${id}-child` });
  const [ok, failed] = await ctx.all([ctx.call(quote, 2), ctx.call(fail, "nope")]);
  const raced = await ctx.raceSettled(ctx.call(fail, "first"), ctx.call(slow, 3_000));
  const won = await ctx.raceSettled(ctx.call(quote, 1), ctx.scheduleTimer(60_000));
  return {
    issues,
    child,
    all: [ok.ok ?? null, failed.err ?? null],
    raced: raced.ok ? { index: raced.index, value: raced.value } : { index: raced.index, failed: raced.error instanceof ActivityFailedError },
    won: won.ok && won.index === 0 ? won.value : null,
  };
});

const badOutput = defineOrchestration("BadOutput", async (ctx: OrchestrationContext) => ctx.call(quote, 13));
const checkedOutput = defineOrchestration("CheckedOutput", async () => ({ n: "x" }) as unknown as { n: number }, {
  output: z.object({ n: z.number() }),
});
const generatorChecked = defineOrchestration(
  "GeneratorChecked",
  function* (ctx: OrchestrationContext, n: number) {
    yield ctx.scheduleTimer(1);
    return String(n);
  },
  { output: z.string().transform((s) => `#${s}`) },
);

for (const kind of PROVIDERS) {
  describe(`[${kind}] typed definitions`, () => {
    it("register, call, callSubOrchestration, start and result; schemas at the call site; typed all and race", async () => {
      calls.length = 0;
      const h = await harness((rt) => rt.register(reserve, quote, fail, slow, pricing, pricingV2, parent, badOutput, checkedOutput, generatorChecked), {}, kind);
      try {
        // Client: a bad input is a ValidationError with issue paths, and nothing is stored.
        const err = await h.client.start(pricing, "bad", { id: "", items: [{ sku: "a", qty: 0 }] }).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof ValidationError, String(err));
        assert.equal(err.code, "ValidationFailed");
        assert.deepEqual(err.issues.map((i) => i.path), [["id"], ["items", 0, "qty"]]);
        assert.match(err.message, /^input of orchestration 'Pricing' failed validation: \$\.id: .*; \$\.items\[0\]\.qty: /);
        assert.equal((await h.client.getStatus("bad")).status, "NotFound");

        // Versions: the handle's version runs (v2 is the latest, v1 is pinned by its handle).
        await h.client.start(pricing, "p1", { id: "p1", items: [{ sku: "a", qty: 3 }] });
        await h.client.start(pricingV2, "p2", { id: "p2", items: [{ sku: "a" }] });
        assert.deepEqual(await h.client.result(pricing, "p1", 10_000), { units: 3, price: 30 });
        assert.deepEqual(await h.client.result(pricingV2, "p2", 10_000), { units: 1, price: -1 });
        assert.equal((await h.client.getInstanceInfo("p1")).orchestrationVersion, "1.0.0");
        assert.equal((await h.client.getInstanceInfo("p2")).orchestrationVersion, "2.0.0");
        await assert.rejects(h.client.result(parent, "p1", 1_000), InvalidArgumentError);

        await h.client.start(parent, "par", "par");
        const out = await h.client.result(parent, "par", 20_000);
        assert.deepEqual(out.issues, ["id: Too small: expected string to have >=1 characters", "items: Too small: expected array to have >=1 items"]);
        assert.deepEqual(out.child, { units: 3, price: 30 }, "the schema default (qty 1) was applied at the call");
        assert.deepEqual(out.all, [20, "nope"]);
        assert.deepEqual(out.raced, { index: 0, failed: true }, "a failed winner arrives as a failure, not a value");
        assert.equal(out.won, 10);
        const scheduled = (await h.client.readHistory("par")).filter((e) => e.type === "ActivityScheduled").length;
        assert.equal(scheduled, 5, "the invalid call scheduled nothing");
        assert.ok(!calls.includes("reserve "), "the invalid input never reached the activity");

        // Outputs are validated where the handler returns.
        await h.client.start(badOutput, "bo", undefined);
        const e2 = await h.client.result(badOutput, "bo", 10_000).then(() => null, (e: unknown) => e);
        assert.ok(e2 instanceof OrchestrationFailedError);
        assert.match(e2.message, /output of activity 'Quote' failed validation: \$: .*expected int/);
        await h.client.start(checkedOutput, "co", undefined);
        await assert.rejects(h.client.result(checkedOutput, "co", 10_000), /output of orchestration 'CheckedOutput' failed validation: \$\.n: /);
        await h.client.start(generatorChecked, "gc", 7);
        assert.equal(await h.client.result(generatorChecked, "gc", 10_000), "#7");
      } finally {
        await h.close();
      }
    });
  });
}

describe("definitions: bad definitions fail clearly", () => {
  it("names, handlers, schemas and handles are checked", async () => {
    assert.throws(() => defineActivity("", async () => 1), InvalidArgumentError);
    assert.throws(() => defineActivity("A", 5 as unknown as () => number), /handler must be a function/);
    assert.throws(() => defineOrchestration("O", async () => 1, { output: {} as z.ZodString }), /must be a Standard Schema/);
    assert.throws(() => defineActivity("A", async () => 1, { input: z.string().refine(async () => true) }).checkInput("x"), /validates asynchronously/);
    const h = await harness(() => undefined);
    try {
      await assert.rejects(h.client.start({ kind: "orchestration" } as unknown as typeof pricing, "x", { id: "a", items: [] }), /defineOrchestration/);
      assert.throws(() => h.runtime.register({} as unknown as typeof reserve), /defineActivity\(\) or defineOrchestration\(\)/);
    } finally {
      await h.close();
    }
  });
});
