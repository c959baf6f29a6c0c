// Versioned rollout: ship v2 of an orchestration while v1 instances are still running.
//
// Process 1 runs v1 only and starts an order that waits for payment. It is then replaced (a
// deploy) by process 2, which registers v1 AND v2 on the same store. The in-flight order stays
// pinned to v1 (its history was written by v1 code, so it must replay on v1), new orders start on
// the latest version, and a long-lived "eternal" orchestration moves to v2 at its next
// continue-as-new. The version is visible in the client status and in every activity context.
//
//   npm run build && node dist/examples/versioned-rollout.js
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Runtime, SqliteProvider, type ActivityContext, type OrchestrationContext } from "../src/index.js";
import { printer, runtimeOptions, type ExampleOptions } from "./support.js";

export interface RolloutResult {
  inFlight: { version: string | null; output: string };
  newOrder: { version: string | null; output: string };
  eternal: string[];
}

const orderV1 = async (ctx: OrchestrationContext, id: string) => {
  await ctx.waitForEvent("PaymentReceived");
  return ctx.scheduleActivity<string>("Ship", id);
};
// v2 adds a fraud check before shipping: a different sequence of decisions, hence a new version.
const orderV2 = async (ctx: OrchestrationContext, id: string) => {
  await ctx.waitForEvent("PaymentReceived");
  await ctx.scheduleActivity("FraudCheck", id);
  return ctx.scheduleActivity<string>("Ship", id);
};
// A monitor that runs forever, one cycle per execution; continueAsNew picks the latest version.
const eternal = (tag: string) => async (ctx: OrchestrationContext, seen: string[]) => {
  const now = [...seen, `${tag}@${ctx.orchestrationVersion}`];
  if (now.length >= 3) return now;
  await ctx.waitForEvent("tick");
  return ctx.continueAsNew(now);
};

function activities(rt: Runtime): void {
  rt.registerActivity("Ship", async (ctx: ActivityContext, id: string) => `${id} shipped by ${ctx.orchestrationName} v${ctx.orchestrationVersion}`);
  rt.registerActivity("FraudCheck", async () => "ok");
}

export async function main(opts: ExampleOptions = {}): Promise<RolloutResult> {
  const say = printer(opts.quiet);
  const dir = opts.storeUrl ? null : mkdtempSync(join(tmpdir(), "dx-rollout-"));
  const url = opts.storeUrl ?? `sqlite:${join(dir!, "store.db")}`;
  const run = Date.now();
  const inFlightId = `order-1-${run}`;
  const newId = `order-2-${run}`;
  const eternalId = `monitor-${run}`;
  try {
    // ---- process 1: v1 only
    const p1 = await SqliteProvider.open(url);
    const rt1 = new Runtime(p1, runtimeOptions(say, opts.quiet));
    activities(rt1);
    rt1.registerOrchestrationVersioned("Order", "1.0.0", orderV1);
    rt1.registerOrchestrationVersioned("Monitor", "1.0.0", eternal("v1"));
    await rt1.start();
    await rt1.client.startOrchestration(inFlightId, "Order", inFlightId);
    await rt1.client.startOrchestration(eternalId, "Monitor", []);
    for (const id of [inFlightId, eternalId]) {
      while ((await rt1.client.getStatus(id)).status !== "Running") await new Promise((r) => setTimeout(r, 10));
    }
    say(`[deploy] process 1 (v1) is running ${inFlightId} and ${eternalId}; shutting it down`);
    await rt1.shutdown();
    await p1.close();

    // ---- process 2: v1 and v2
    const p2 = await SqliteProvider.open(url);
    const rt2 = new Runtime(p2, runtimeOptions(say, opts.quiet));
    activities(rt2);
    rt2.registerOrchestrationVersioned("Order", "1.0.0", orderV1);
    rt2.registerOrchestrationVersioned("Order", "2.0.0", orderV2);
    rt2.registerOrchestrationVersioned("Monitor", "1.0.0", eternal("v1"));
    rt2.registerOrchestrationVersioned("Monitor", "2.0.0", eternal("v2"));
    await rt2.start();
    const client = rt2.client;
    try {
      say(`[deploy] process 2 (v1 + v2) started`);
      await client.raiseEvent(inFlightId, "PaymentReceived");
      const a = await client.waitForOrchestrationTyped<string>(inFlightId, 10_000);
      const aVersion = (await client.getInstanceState(inFlightId)).orchestrationVersion;
      say(`[${inFlightId}] stayed on v${aVersion}: ${a}`);

      await client.startOrchestration(newId, "Order", newId);
      await client.raiseEvent(newId, "PaymentReceived");
      const b = await client.waitForOrchestrationTyped<string>(newId, 10_000);
      const bVersion = (await client.getInstanceState(newId)).orchestrationVersion;
      say(`[${newId}] started on v${bVersion}: ${b}`);

      for (let i = 0; i < 2; i++) {
        const before = (await client.listExecutions(eternalId)).length;
        await client.raiseEvent(eternalId, "tick");
        while ((await client.listExecutions(eternalId)).length === before && (await client.getStatus(eternalId)).status === "Running")
          await new Promise((r) => setTimeout(r, 10));
      }
      const e = await client.waitForOrchestrationTyped<string[]>(eternalId, 10_000);
      say(`[${eternalId}] executions ran on: ${e.join(" → ")}`);
      return { inFlight: { version: aVersion, output: a }, newOrder: { version: bVersion, output: b }, eternal: e };
    } finally {
      await rt2.shutdown();
      await p2.close();
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
