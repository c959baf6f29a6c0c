// Child process for lifetime.test.ts: `node child.js <sqlite|postgres> <scenario> <url>`.
// Prints "done" once its work is finished, then leaves the process to exit on its own (or not).
// A scenario that must keep the process alive arms an unref'd timer that prints "alive" and
// exits: that timer can only fire while something else holds the event loop.
import { Runtime, SqliteProvider, PostgresProvider, type OrchestrationContext, type Provider } from "../../src/index.js";

const [store, scenario, url, schema] = process.argv.slice(2) as [string, string, string, string | undefined];

async function open(): Promise<Provider> {
  return store === "sqlite" ? SqliteProvider.open(url) : PostgresProvider.connectWithSchema(url, schema!);
}

function newRuntime(p: Provider): Runtime {
  const rt = new Runtime(p, { dispatcherPollIntervalMs: 50 });
  rt.registerActivity("Echo", async (_ctx, x: string) => x);
  rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, x: string) => {
    await ctx.scheduleTimer(20);
    return await ctx.scheduleActivity<string>("Echo", x);
  });
  return rt;
}

function aliveAfter(ms: number): void {
  setTimeout(() => {
    console.log("alive");
    process.exit(0);
  }, ms).unref();
}

const provider = await open();
switch (scenario) {
  case "after-shutdown": {
    // The duroxide-node way: run, shut the runtime down, never close the provider.
    const rt = newRuntime(provider);
    await rt.start();
    await rt.client.startOrchestration("i1", "Hello", "x");
    const r = await rt.client.waitForOrchestration("i1", 20_000);
    await rt.shutdown();
    console.log(`done ${r.status}`);
    break;
  }
  case "idle-provider": {
    // A client-only process: start an instance (nobody runs it here) and read its status.
    const rt = newRuntime(provider);
    await rt.client.startOrchestration("i2", "Hello", "x");
    console.log(`done ${(await rt.client.getStatus("i2")).status}`);
    break;
  }
  case "runtime-running": {
    await newRuntime(provider).start();
    aliveAfter(1_500);
    console.log("done");
    break;
  }
  case "wait-pending": {
    // No runtime: the wait can only time out, and until then it holds the process.
    const rt = newRuntime(provider);
    await rt.client.startOrchestration("i3", "Hello", "x");
    aliveAfter(1_500);
    void rt.client.waitForOrchestration("i3", 10_000).catch(() => undefined);
    console.log("done");
    break;
  }
  case "close-twice": {
    await provider.close();
    await provider.close();
    await Promise.all([provider.close(), provider.close()]);
    console.log("done closed");
    break;
  }
  case "close-after-work": {
    // The code after `await provider.close()` must run: ending unref'd connections must not let
    // the event loop run dry with the close still pending.
    const rt = newRuntime(provider);
    await rt.start();
    await rt.client.startOrchestration("i4", "Hello", "x");
    const r = await rt.client.waitForOrchestration("i4", 20_000);
    await rt.shutdown();
    await provider.close();
    console.log(`done ${r.status} closed`);
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
