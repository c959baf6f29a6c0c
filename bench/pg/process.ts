// One runtime process for the PostgreSQL scaling benchmark. Runs until SIGTERM.
// Usage (forked by scale.ts): node process.js <databaseUrl> <applicationName> [<warmupDatabaseUrl>]
// Its connections carry <applicationName>, so the driver can attribute PostgreSQL backend CPU to
// it. On the driver's "mark" message it answers with its CPU time so far and the activities it ran.
import { Runtime, type OrchestrationContext } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";

export interface Mark {
  cpuUserUs: number;
  cpuSystemUs: number;
  activities: number;
  /** Notifications this process's provider delivered to its listeners (its own writes and, over LISTEN, every other process's). */
  notifications: number;
}

const [url, applicationName, warmupUrl] = process.argv.slice(2) as [string, string, string | undefined];
let activities = 0;
let notifications = 0;

async function startRuntime(dbUrl: string): Promise<{ runtime: Runtime; provider: PostgresProvider }> {
  const provider = await PostgresProvider.connect(dbUrl, { maxConnections: 8, applicationName });
  const runtime = new Runtime(provider, {
    orchestrationConcurrency: 16,
    workerConcurrency: 32,
    dispatcherPollIntervalMs: 10,
    logLevel: "error",
  });
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
  return { runtime, provider };
}

// JIT warm-up on a database of its own, so the measured run finds this process's code compiled
// (as in a long-running deployment) and the measured database's counters hold only the run.
if (warmupUrl) {
  const { runtime, provider } = await startRuntime(warmupUrl);
  const ids = [
    ...Array.from({ length: 300 }, (_, i) => [`${applicationName}-h${i}`, "Hello", i] as const),
    ...Array.from({ length: 10 }, (_, i) => [`${applicationName}-f${i}`, "FanOut", 20] as const),
  ];
  await Promise.all(ids.map(([id, name, input]) => runtime.client.startOrchestration(id, name, input)));
  for (const [id] of ids) await runtime.client.waitForOrchestration(id, 300_000);
  await runtime.shutdown(1_000);
  await provider.close();
}

const { runtime, provider } = await startRuntime(url);
provider.subscribe(() => void notifications++);
process.on("message", (m) => {
  if (m !== "mark") return;
  const cpu = process.cpuUsage();
  const mark: Mark = { cpuUserUs: cpu.user, cpuSystemUs: cpu.system, activities, notifications };
  process.send?.(mark);
});
process.send?.("ready");
process.on("SIGTERM", () => {
  void runtime.shutdown(500).then(() => provider.close()).then(() => process.exit(0));
});
