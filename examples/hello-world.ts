// Hello world: one orchestration calls one activity, with typed definitions: the compiler checks
// the activity handle, its input and its output.
//
//   npm run build && node dist/examples/hello-world.js
import { pathToFileURL } from "node:url";
import { Runtime, defineActivity, defineOrchestration } from "../src/index.js";
import { openStore, printer, runtimeOptions, type ExampleOptions } from "./support.js";

// An activity does the real work (I/O, side effects). It receives an ActivityContext and the input.
const greet = defineActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);

// An orchestration coordinates activities. It must be deterministic: it is replayed from history.
const helloWorld = defineOrchestration("HelloWorld", async (ctx, name: string) => {
  ctx.traceInfo(`greeting ${name}`);
  return ctx.call(greet, name); // a DurableFuture<string>
});

export async function main(opts: ExampleOptions = {}): Promise<string> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.register(greet, helloWorld);
  await runtime.start();
  try {
    const client = runtime.client;
    const instanceId = `hello-${Date.now()}`; // client code may use the clock; orchestrations may not
    say(`starting orchestration HelloWorld as '${instanceId}'`);
    await client.start(helloWorld, instanceId, "World");
    const greeting = await client.result(helloWorld, instanceId, 10_000); // a string; throws if it failed
    say(`result: ${JSON.stringify(greeting)}`);
    return greeting;
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
