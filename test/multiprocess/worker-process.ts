// A runtime process for the multi-process tests: runs on a shared PostgreSQL schema until killed.
// Usage: node worker-process.js <databaseUrl> <schema> <sideEffectLog>
import { appendFileSync } from "node:fs";
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";

const [url, schema, log] = process.argv.slice(2) as [string, string, string];
const provider = await PostgresProvider.connectWithSchema(url, schema, { maxConnections: 4 });
const runtime = new Runtime(provider, {
  orchestrationConcurrency: 8,
  workerConcurrency: 8,
  dispatcherPollIntervalMs: 50,
  // Short enough that the killed process's locks lapse soon, long enough that a survivor stalled by
  // a loaded machine keeps its own (a lapse lets another process run the step again: at-least-once).
  orchestratorLockTimeoutMs: 3_000,
  workerLockTimeoutMs: 3_000,
  logLevel: "error",
});
runtime.registerActivity("Step", async (ctx, input: { step: number }) => {
  const began = Date.now();
  await new Promise((r) => setTimeout(r, 5));
  appendFileSync(log, `${ctx.instanceId}:${input.step}:${process.pid}:${began}\n`);
  return input.step;
});
runtime.registerOrchestration("Multi", async (ctx: OrchestrationContext, n: number) => {
  let sum = 0;
  for (let step = 1; step <= n; step++) sum += await ctx.scheduleActivity<number>("Step", { step });
  return sum;
});
await runtime.start();
process.send?.("ready");
process.on("SIGTERM", () => {
  void runtime.shutdown(500).then(() => provider.close()).then(() => process.exit(0));
});
