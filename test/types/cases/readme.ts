// The README quick start (typed form), compiled as written.
import { Runtime, SqliteProvider, defineActivity, defineOrchestration } from "../../../src/index.js";

export async function quickStart(): Promise<void> {
  const greet = defineActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);

  const hello = defineOrchestration("HelloWorld", async (ctx, name: string) => {
    ctx.traceInfo(`greeting ${name}`);
    const greeting = await ctx.call(greet, name);
    await ctx.scheduleTimer(1_000);
    return greeting;
  });

  const provider = await SqliteProvider.open("sqlite:./workflows.db");
  const runtime = new Runtime(provider);
  runtime.register(greet, hello);
  await runtime.start();

  const client = runtime.client;
  await client.start(hello, "hello-1", "World");
  const greeting: string = await client.result(hello, "hello-1", 30_000);
  console.log(greeting);

  await runtime.shutdown();
  await provider.close();
}
