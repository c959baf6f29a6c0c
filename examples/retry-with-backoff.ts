// Retry with backoff: call a flaky service with `ctx.scheduleActivityWithRetry`.
//
// Each attempt is a new activity and each wait between attempts is a durable timer, so both show
// up in the history and a restart in the middle of the backoff loses nothing. A per-attempt timeout
// races each attempt against a timer; a timed-out attempt is NOT retried: the task fails with
// "timeout: activity timed out" and the orchestration falls back to a cached answer.
//
//   npm run build && node dist/examples/retry-with-backoff.js
import { pathToFileURL } from "node:url";
import { Runtime, type ActivityContext, type OrchestrationContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

export interface RetryExampleResult {
  quote: string;
  attempts: number;
  backoffTimers: number[];
  slowPath: string;
}

export async function main(opts: ExampleOptions = {}): Promise<RetryExampleResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));

  let calls = 0;
  runtime.registerActivity("GetQuote", async (_ctx: ActivityContext, symbol: string) => {
    calls++;
    await sleep(5);
    if (calls < 3) throw new Error(`503 Service Unavailable (call ${calls})`);
    return `${symbol}: 101.25`;
  });
  runtime.registerActivity("SlowQuote", async (ctx: ActivityContext) => {
    await Promise.race([sleep(5_000), ctx.cancelled()]); // stops early when the attempt times out
    return "too late";
  });

  runtime.registerOrchestration("Quote", async (ctx: OrchestrationContext, symbol: string) => {
    // Exponential backoff: 50 ms, 100 ms, 200 ms ... (capped at 1 s), at most 5 attempts.
    const quote = await ctx.scheduleActivityWithRetry<string>("GetQuote", symbol, {
      maxAttempts: 5,
      backoff: { kind: "exponential", baseMs: 50, multiplier: 2, maxMs: 1_000 },
    });
    // duroxide-node policy shape: a per-attempt timeout of 100 ms; a timeout is not retried.
    let slowPath: string;
    try {
      slowPath = await ctx.scheduleActivityWithRetry<string>("SlowQuote", symbol, { maxAttempts: 3, timeoutMs: 100, backoff: "fixed" });
    } catch (e) {
      ctx.traceWarn(`slow service: ${(e as Error).message}; using the cached quote`);
      slowPath = `cached (${(e as Error).message})`;
    }
    return { quote, slowPath };
  });

  await runtime.start();
  const client = runtime.client;
  try {
    const id = `quote-${Date.now()}`;
    say(`[${id}] asking for a quote from a service that fails twice`);
    await client.startOrchestration(id, "Quote", "CTSO");
    const out = await client.waitForOrchestrationTyped<{ quote: string; slowPath: string }>(id, 10_000);
    const history = await client.readHistory(id);
    const backoffTimers = history
      .filter((e) => e.type === "TimerCreated")
      .map((e) => (e as { fireAtMs: number }).fireAtMs - e.timestampMs)
      .slice(0, 2);
    say(`[${id}] ${out.quote} after ${calls} attempts; backoff timers in history: ${backoffTimers.join(" ms, ")} ms`);
    say(`[${id}] slow service: ${out.slowPath}`);
    return { quote: out.quote, attempts: calls, backoffTimers, slowPath: out.slowPath };
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
