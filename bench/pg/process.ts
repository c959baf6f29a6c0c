// One runtime process for the PostgreSQL scaling benchmark. Runs until SIGTERM.
// Usage (forked by scale.ts): node process.js <databaseUrl> <applicationName>
// Its connections carry <applicationName>, so the driver can attribute PostgreSQL backend CPU to
// it. On the driver's "mark" message it answers with its CPU time so far and the activities it ran.
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";

export interface Mark {
  cpuUserUs: number;
  cpuSystemUs: number;
  activities: number;
}

const [url, applicationName] = process.argv.slice(2) as [string, string];
const provider = await PostgresProvider.connect(url, { maxConnections: 8, applicationName });
const runtime = new Runtime(provider, {
  orchestrationConcurrency: 16,
  workerConcurrency: 32,
  dispatcherPollIntervalMs: 10,
  logLevel: "error",
});
let activities = 0;
runtime.registerActivity("Echo", async (_ctx, x: unknown) => {
  activities++;
  return x;
});
runtime.registerOrchestration("Hello", async (ctx: OrchestrationContext, x: unknown) => ctx.scheduleActivity("Echo", x));
runtime.registerOrchestration("FanOut", async (ctx: OrchestrationContext, n: number) => {
  const r = await ctx.join(Array.from({ length: n }, (_, i) => ctx.scheduleActivity<number>("Echo", i)));
  return r.length;
});
await runtime.start();
process.on("message", (m) => {
  if (m !== "mark") return;
  const cpu = process.cpuUsage();
  const mark: Mark = { cpuUserUs: cpu.user, cpuSystemUs: cpu.system, activities };
  process.send?.(mark);
});
process.send?.("ready");
process.on("SIGTERM", () => {
  void runtime.shutdown(500).then(() => provider.close()).then(() => process.exit(0));
});
