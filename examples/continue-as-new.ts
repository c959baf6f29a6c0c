// Continue-as-new: an "eternal" orchestration that keeps its history small.
//
// A long-running loop inside one orchestration would grow its history forever (and replay would
// get slower). Instead, each execution does one round of work, then calls
// `ctx.continueAsNew(nextState)`: the current execution ends and a fresh one starts with the new
// input and an empty history, under the same instance id. Clients see one instance, Running until
// the chain finally completes.
//
// This counter ticks, sleeps on a durable timer, continues as new, and completes after N rounds.
//
//   npm run build && node dist/examples/continue-as-new.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, type ExampleOptions } from "./support.js";

interface CounterState {
  count: number;
  rounds: number;
  intervalMs: number;
}
export interface ContinueAsNewResult {
  finalCount: number;
  /** Executions the instance went through (one per round). */
  executions: number;
  /** Events in the last execution's history: small, however many rounds ran. */
  lastHistoryLength: number;
}

async function recordTick(_ctx: ActivityContext, x: { count: number; executionId: number }): Promise<number> {
  // e.g. upsert a heartbeat row keyed by count: running it twice writes the same row.
  return x.count + 1;
}

async function counter(ctx: OrchestrationContext, state: CounterState): Promise<{ finalCount: number }> {
  const count = await ctx.scheduleActivity<number>("RecordTick", { count: state.count, executionId: ctx.executionId });
  ctx.setCustomStatus(`count=${count}`);
  ctx.traceInfo(`execution ${ctx.executionId}: count is now ${count}`);
  if (count >= state.rounds) return { finalCount: count };
  await ctx.scheduleTimer(state.intervalMs);
  // Ends this execution; a new one starts with this input. The returned task never resolves.
  return ctx.continueAsNew({ ...state, count });
}

export async function main(opts: ExampleOptions & { rounds?: number } = {}): Promise<ContinueAsNewResult> {
  const say = printer(opts.quiet);
  const rounds = opts.rounds ?? 5;
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("RecordTick", recordTick);
  runtime.registerOrchestration("Counter", counter);
  await runtime.start();
  const client = runtime.client;
  try {
    const instanceId = `counter-${Date.now()}`;
    say(`starting Counter '${instanceId}': ${rounds} rounds, continuing as new after each`);
    await client.startOrchestration(instanceId, "Counter", { count: 0, rounds, intervalMs: 20 });
    const result = await client.waitForOrchestrationTyped<{ finalCount: number }>(instanceId, 15_000);
    const executions = await client.listExecutions(instanceId);
    const lastHistory = await client.readHistory(instanceId, executions[executions.length - 1]);
    say(`completed: count=${result.finalCount} after ${executions.length} executions`);
    say(`last execution's history has ${lastHistory.length} events (${lastHistory.map((e) => e.type).join(", ")})`);
    return { finalCount: result.finalCount, executions: executions.length, lastHistoryLength: lastHistory.length };
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
