// Child process for not-loaded.test: runs one orchestration with an activity, with or without the
// telemetry hooks, then prints the CommonJS modules it loaded (ES modules are logged by a loader hook).
//   node --import <hook> plain-child.js --plain-child <with|without>
import { createRequire } from "node:module";
import { Runtime, SqliteProvider, type OrchestrationContext, type RuntimeOptions } from "../../src/index.js";

async function main(mode: string): Promise<void> {
  const options: RuntimeOptions = { dispatcherPollIntervalMs: 10, logLevel: "error" };
  if (mode === "with") {
    const { openTelemetry } = await import("../../src/telemetry/index.js");
    options.telemetry = openTelemetry();
  }
  const rt = new Runtime(await SqliteProvider.inMemory(), options);
  rt.registerActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);
  rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => ctx.scheduleActivity("Greet", name));
  await rt.start();
  await rt.client.startOrchestration("h", "Hello", "World");
  const status = await rt.client.waitForOrchestration("h", 10_000);
  await rt.shutdown();
  const required = Object.keys(createRequire(import.meta.url).cache);
  process.stdout.write(JSON.stringify({ status: status.status, output: status.output, required }) + "\n");
}

const at = process.argv.indexOf("--plain-child");
if (at >= 0) {
  main(process.argv[at + 1] ?? "without").catch((err: unknown) => {
    process.stderr.write(String(err instanceof Error ? err.stack : err) + "\n");
    process.exit(2);
  });
}
