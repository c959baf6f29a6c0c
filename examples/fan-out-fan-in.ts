// Fan-out / fan-in: schedule N activities at once, then wait for all of them.
//
// `ctx.all(tasks)` waits for every task and gives one `{ ok }` or `{ err }` entry per task, in
// argument order, so one failure does not lose the other results. `ctx.join(tasks)` gives the
// values themselves and throws on the first failure: use it when any failure should fail the batch.
//
//   npm run build && node dist/examples/fan-out-fan-in.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

// Pretend document store; the activity "downloads" a document and counts its words.
const DOCUMENTS: Record<string, string> = {
  "intro.md": "Durable execution keeps your workflow running across crashes",
  "timers.md": "Durable timers survive restarts because they live in the store",
  "events.md": "External events wake a waiting orchestration",
  "activities.md": "Activities do the side effects and may run more than once",
  "replay.md": "Orchestrations are replayed from history so they must be deterministic",
};

export interface FanOutResult {
  wordsPerDocument: Record<string, number>;
  totalWords: number;
  failed: { document: string; error: string }[];
  /** The same counts again, gathered with ctx.join over the documents that exist. */
  joinTotal: number;
}

async function countWords(_ctx: ActivityContext, document: string): Promise<number> {
  await sleep(20 + (document.length % 4) * 10); // uneven latency: completions arrive out of order
  const text = DOCUMENTS[document];
  if (text === undefined) throw new Error(`document ${document} not found`);
  return text.split(/\s+/).filter(Boolean).length;
}

async function wordCount(ctx: OrchestrationContext, documents: string[]): Promise<FanOutResult> {
  // Fan out: every activity is scheduled before we wait on any of them, so they run in parallel.
  const tasks = documents.map((doc) => ctx.scheduleActivity<number>("CountWords", doc));
  ctx.traceInfo(`fanned out ${tasks.length} CountWords activities`);

  // Fan in: results come back in argument order, whatever order the activities finished in.
  const results = await ctx.all(tasks);
  const wordsPerDocument: Record<string, number> = {};
  const failed: FanOutResult["failed"] = [];
  results.forEach((r, i) => {
    const doc = documents[i]!;
    if (r.err !== undefined) failed.push({ document: doc, error: r.err });
    else wordsPerDocument[doc] = r.ok;
  });
  const totalWords = Object.values(wordsPerDocument).reduce((a, b) => a + b, 0);
  ctx.traceInfo(`${Object.keys(wordsPerDocument).length} counted, ${failed.length} failed`);

  // ctx.join: all-or-nothing. Here over the documents that succeeded, so it cannot throw.
  const okDocs = documents.filter((d) => d in wordsPerDocument);
  const counts = await ctx.join(okDocs.map((doc) => ctx.scheduleActivity<number>("CountWords", doc)));
  const joinTotal = counts.reduce((a, b) => a + b, 0);

  return { wordsPerDocument, totalWords, failed, joinTotal };
}

export async function main(opts: ExampleOptions = {}): Promise<FanOutResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("CountWords", countWords);
  runtime.registerOrchestration("WordCount", wordCount);
  await runtime.start();
  try {
    const documents = [...Object.keys(DOCUMENTS), "missing.md"];
    const instanceId = `wordcount-${Date.now()}`;
    say(`counting words in ${documents.length} documents in parallel (one of them does not exist)`);
    await runtime.client.startOrchestration(instanceId, "WordCount", documents);
    const result = await runtime.client.waitForOrchestrationTyped<FanOutResult>(instanceId, 10_000);
    for (const [doc, n] of Object.entries(result.wordsPerDocument)) say(`  ${doc.padEnd(16)} ${n} words`);
    for (const f of result.failed) say(`  ${f.document.padEnd(16)} failed: ${f.error}`);
    say(`total: ${result.totalWords} words (ctx.join over the successful ones: ${result.joinTotal})`);
    return result;
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
