// Session affinity: pin every activity of a session to the worker that owns it.
//
// Two runtimes (think: two processes on two machines) share one SQLite file, each with its own
// `workerNodeId`. Each keeps an expensive in-memory cache (a "loaded model") per session. The
// orchestration schedules its activities with `ctx.scheduleActivityOnSession(name, input, sessionId)`,
// so the first call of a session loads the model on whichever worker claims the session, and every
// later call lands on that same worker and hits the cache. If the owner dies, its session lock
// expires and another worker claims the session (and would load the model again).
//
//   npm run build && node dist/examples/session-affinity.js
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Runtime, SqliteProvider, type ActivityContext, type OrchestrationContext } from "../src/index.js";
import { printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface InferenceResult {
  worker: string;
  cacheHit: boolean;
  answer: string;
}
export interface SessionAffinityResult {
  /** Per conversation: the workers its activities ran on (always exactly one). */
  workersPerConversation: Record<string, string[]>;
  cacheHits: number;
  cacheMisses: number;
}

function registerAll(rt: Runtime, node: string): void {
  const loadedModels = new Map<string, string>(); // per worker process: sessionId → model
  rt.registerActivity("Infer", async (ctx: ActivityContext, prompt: string): Promise<InferenceResult> => {
    const session = ctx.sessionId!;
    let cacheHit = true;
    if (!loadedModels.has(session)) {
      cacheHit = false;
      await sleep(30); // loading a model is slow
      loadedModels.set(session, `model-for-${session.slice(0, 8)}`);
    }
    await sleep(5);
    return { worker: `${node} (${ctx.workerId})`, cacheHit, answer: `${loadedModels.get(session)} says: ${prompt.toUpperCase()}` };
  });
  rt.registerOrchestration("Conversation", async (ctx: OrchestrationContext, prompts: string[]) => {
    const session = await ctx.newGuid(); // one session per conversation, recorded in history
    const results: InferenceResult[] = [];
    for (const p of prompts) results.push(await ctx.scheduleActivityOnSession<InferenceResult>("Infer", p, session));
    return results;
  });
}

export async function main(opts: ExampleOptions = {}): Promise<SessionAffinityResult> {
  const say = printer(opts.quiet);
  const dir = opts.storeUrl ? null : mkdtempSync(join(tmpdir(), "dx-sessions-"));
  const url = opts.storeUrl ?? `sqlite:${join(dir!, "store.db")}`;
  const providers = [await SqliteProvider.open(url), await SqliteProvider.open(url)];
  const runtimes = ["node-a", "node-b"].map((node, i) => {
    const rt = new Runtime(providers[i]!, { ...runtimeOptions(say, opts.quiet), workerNodeId: node, maxSessionsPerRuntime: 1 }) // one session at a time per node, so both nodes get work;
    registerAll(rt, node);
    return rt;
  });
  for (const rt of runtimes) await rt.start();
  const client = runtimes[0]!.client;
  try {
    const run = Date.now();
    const ids = [0, 1, 2, 3].map((i) => `conversation-${i}-${run}`);
    for (const id of ids) await client.startOrchestration(id, "Conversation", ["hello", "summarise this", "thanks"]);
    const workersPerConversation: Record<string, string[]> = {};
    let cacheHits = 0;
    let cacheMisses = 0;
    for (const id of ids) {
      const results = await client.waitForOrchestrationTyped<InferenceResult[]>(id, 10_000);
      workersPerConversation[id] = [...new Set(results.map((r) => r.worker))];
      for (const r of results) r.cacheHit ? cacheHits++ : cacheMisses++;
      say(`[${id}] ran on ${workersPerConversation[id]!.join(", ")}; cache: ${results.map((r) => (r.cacheHit ? "hit" : "miss")).join(", ")}`);
    }
    return { workersPerConversation, cacheHits, cacheMisses };
  } finally {
    for (const rt of runtimes) await rt.shutdown();
    for (const p of providers) await p.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
