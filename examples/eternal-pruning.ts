// Eternal orchestration that prunes its own old executions.
//
// An eternal orchestration loops with `ctx.continueAsNew(...)`: each round is a new execution
// with a fresh, small history. The old executions stay in the store (for debugging) until
// someone removes them. Here the orchestration does it itself: every `pruneEvery` rounds it calls
// an activity that uses the management API through `ctx.getClient()`:
//
//   client.pruneExecutions(instanceId, { keepLast })
//
// Pruning never removes the current execution (nor a running one) and leaves KV state alone, so
// it is safe to call from inside the instance being pruned.
//
//   npm run build && node dist/examples/eternal-pruning.js
import { pathToFileURL } from "node:url";
import { Runtime, type ActivityContext, type OrchestrationContext, type PruneResult } from "../src/index.js";
import { openStore, printer, runtimeOptions, type ExampleOptions } from "./support.js";

interface LoopState {
  round: number;
  rounds: number;
  keepLast: number;
  pruneEvery: number;
  pruned: number;
}

export interface EternalPruningResult {
  rounds: number;
  /** Executions deleted by the orchestration's own prune calls. */
  prunedByOrchestration: number;
  /** Execution ids left in the store when the chain completed. */
  executionsLeft: number[];
  /** Stats of the instance at the end (history events across the executions left). */
  historyEventCount: number;
}

/** Activity: prune old executions of the calling instance through the management client. */
async function pruneMyHistory(ctx: ActivityContext, keepLast: number): Promise<PruneResult> {
  const r = await ctx.getClient().pruneExecutions(ctx.instanceId, { keepLast });
  ctx.traceInfo(`pruned ${r.executionsDeleted} executions (${r.eventsDeleted} events), keeping the last ${keepLast}`);
  return r;
}

async function doWork(_ctx: ActivityContext, round: number): Promise<number> {
  return round * 10;
}

async function eternal(ctx: OrchestrationContext, s: LoopState): Promise<{ rounds: number; pruned: number }> {
  await ctx.scheduleActivity("DoWork", s.round);
  let pruned = s.pruned;
  if (s.round % s.pruneEvery === 0) {
    const r = await ctx.scheduleActivity<PruneResult>("PruneMyHistory", s.keepLast);
    pruned += r.executionsDeleted;
  }
  if (s.round >= s.rounds) return { rounds: s.round, pruned };
  return ctx.continueAsNew({ ...s, round: s.round + 1, pruned });
}

export async function main(
  opts: ExampleOptions & { rounds?: number; keepLast?: number; pruneEvery?: number } = {},
): Promise<EternalPruningResult> {
  const say = printer(opts.quiet);
  const rounds = opts.rounds ?? 12;
  const keepLast = opts.keepLast ?? 3;
  const pruneEvery = opts.pruneEvery ?? 4;
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("DoWork", doWork);
  runtime.registerActivity("PruneMyHistory", pruneMyHistory);
  runtime.registerOrchestration("Eternal", eternal);
  await runtime.start();
  const client = runtime.client;
  try {
    const id = `eternal-${Date.now()}`;
    say(`starting Eternal '${id}': ${rounds} rounds, pruning to the last ${keepLast} executions every ${pruneEvery} rounds`);
    await client.startOrchestration(id, "Eternal", { round: 1, rounds, keepLast, pruneEvery, pruned: 0 });
    const out = await client.waitForOrchestrationTyped<{ rounds: number; pruned: number }>(id, 30_000);
    const executionsLeft = await client.listExecutions(id);
    const stats = await client.getOrchestrationStats(id);
    say(`completed after ${out.rounds} rounds; the orchestration pruned ${out.pruned} executions itself`);
    say(`executions left: ${executionsLeft.join(", ")}; history events stored: ${stats?.historyEventCount ?? 0}`);
    return { rounds: out.rounds, prunedByOrchestration: out.pruned, executionsLeft, historyEventCount: stats?.historyEventCount ?? 0 };
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
