// One runtime process for the PostgreSQL scaling benchmark. Runs until SIGTERM.
// Usage: node process.js <databaseUrl> <schema>
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";

const [url, schema] = process.argv.slice(2) as [string, string];
const provider = await PostgresProvider.connectWithSchema(url, schema, { maxConnections: 8 });
const runtime = new Runtime(provider, {
  orchestrationConcurrency: 16,
  workerConcurrency: 32,
  dispatcherPollIntervalMs: 10,
  logLevel: "error",
});
runtime.registerActivity("Echo", async (_ctx, x: unknown) => x);
runtime.registerOrchestration("Hello", async (ctx: OrchestrationContext, x: unknown) => ctx.scheduleActivity("Echo", x));
runtime.registerOrchestration("FanOut", async (ctx: OrchestrationContext, n: number) => {
  const r = await ctx.join(Array.from({ length: n }, (_, i) => ctx.scheduleActivity<number>("Echo", i)));
  return r.length;
});
await runtime.start();
process.send?.("ready");
process.on("SIGTERM", () => {
  void runtime.shutdown(500).then(() => provider.close()).then(() => process.exit(0));
});
