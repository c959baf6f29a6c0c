// Hello world: one orchestration calls one activity.
//
//   npm run build && node dist/examples/hello-world.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, type ExampleOptions } from "./support.js";

// An activity does the real work (I/O, side effects). It receives an ActivityContext and the input.
async function greet(_ctx: ActivityContext, name: string): Promise<string> {
  return `Hello, ${name}!`;
}

// An orchestration coordinates activities. It must be deterministic: it is replayed from history.
async function helloOrchestration(ctx: OrchestrationContext, name: string): Promise<string> {
  ctx.traceInfo(`greeting ${name}`);
  const greeting = await ctx.scheduleActivity<string>("Greet", name);
  return greeting;
}

export async function main(opts: ExampleOptions = {}): Promise<string> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("Greet", greet);
  runtime.registerOrchestration("HelloWorld", helloOrchestration);
  await runtime.start();
  try {
    const client = runtime.client;
    const instanceId = `hello-${Date.now()}`; // client code may use the clock; orchestrations may not
    say(`starting orchestration HelloWorld as '${instanceId}'`);
    await client.startOrchestration(instanceId, "HelloWorld", "World");
    const result = await client.waitForOrchestration(instanceId, 10_000);
    if (result.status !== "Completed") throw new Error(`HelloWorld ended ${result.status}: ${result.error ?? ""}`);
    say(`result: ${JSON.stringify(result.output)}`);
    return result.output as string;
  } finally {
    await runtime.shutdown();
    await provider.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
