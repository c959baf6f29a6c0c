// Chat bot: a long-lived conversation fed by an event queue, reporting through custom status, and
// kept small with continue-as-new.
//
// The client pushes user messages with `client.enqueueEvent(id, "user", text)`; the orchestration
// takes them one at a time with `ctx.dequeueEvent("user")` (FIFO, buffered until consumed), asks an
// activity for a reply, and publishes it with `ctx.setCustomStatus`. The client follows along with
// `client.waitForStatusChange`. Every few turns the orchestration continues as new: history starts
// over, while unconsumed messages and the custom status carry forward.
//
//   npm run build && node dist/examples/chat-bot.js
import { pathToFileURL } from "node:url";
import { Runtime, type ActivityContext, type OrchestrationContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface ChatState {
  turn: number;
  topics: string[];
  replies: string[];
}
/** What the client sees: every reply so far, so a reader that falls behind misses nothing. */
interface ChatStatus {
  turn: number;
  replies: string[];
}
export interface ChatResult {
  replies: string[];
  executions: number;
  summary: string;
}

const TURNS_PER_EXECUTION = 2;

async function generateReply(_ctx: ActivityContext, req: { message: string; state: ChatState }): Promise<string> {
  await sleep(10); // a model call in real life
  const m = req.message.toLowerCase();
  if (m.includes("hello")) return "Hello! What can I do for you?";
  if (m.includes("weather")) return "Sunny with a chance of durable timers.";
  if (m.includes("joke")) return "Why did the orchestration replay? It wanted to be deterministic about it.";
  return `You said "${req.message}" (turn ${req.state.turn + 1}).`;
}

async function chatSession(ctx: OrchestrationContext, state: ChatState): Promise<string> {
  for (let i = 0; i < TURNS_PER_EXECUTION; i++) {
    const message = await ctx.dequeueEvent<string>("user");
    if (message === "/bye") {
      ctx.setCustomStatus(JSON.stringify({ turn: state.turn, replies: [...state.replies, "Goodbye!"] } satisfies ChatStatus));
      return `conversation of ${state.turn} turns about: ${state.topics.join(", ")}`;
    }
    const reply = await ctx.scheduleActivity<string>("GenerateReply", { message, state });
    state = { turn: state.turn + 1, topics: [...state.topics, message.split(" ")[0]!.toLowerCase()], replies: [...state.replies, reply] };
    ctx.setCustomStatus(JSON.stringify({ turn: state.turn, replies: state.replies } satisfies ChatStatus));
  }
  ctx.traceInfo(`turn ${state.turn}: continuing as new to keep history short`);
  return ctx.continueAsNew(state);
}

export async function main(opts: ExampleOptions = {}): Promise<ChatResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("GenerateReply", generateReply);
  runtime.registerOrchestration("ChatSession", chatSession);
  await runtime.start();
  const client = runtime.client;
  try {
    const id = `chat-${Date.now()}`;
    await client.startOrchestration(id, "ChatSession", { turn: 0, topics: [], replies: [] } satisfies ChatState);
    const replies: string[] = [];
    let version = 0;
    const expectTurn = async (turn: number) => {
      for (;;) {
        const s = await client.waitForStatusChange(id, version, 20, 10_000);
        version = s.customStatusVersion;
        const st = JSON.parse(s.customStatus ?? "{}") as ChatStatus;
        if (st.turn >= turn) return st;
      }
    };
    // Two messages sent back to back: the second waits in the queue until the bot is ready.
    const script = ["hello there", "weather today?", "tell me a joke", "thanks"];
    for (let i = 0; i < script.length; i++) {
      say(`user> ${script[i]}`);
      await client.enqueueEvent(id, "user", script[i]);
      if (i === 0) continue; // send the first two together
      for (const t of i === 1 ? [1, 2] : [i + 1]) {
        const st = await expectTurn(t);
        const reply = st.replies[t - 1]!;
        say(`bot>  ${reply}`);
        replies.push(reply);
      }
    }
    await client.enqueueEvent(id, "user", "/bye");
    const done = await client.waitForOrchestration(id, 10_000);
    const executions = (await client.listExecutions(id)).length;
    say(`[${id}] ${String(done.output)} (${executions} executions)`);
    return { replies, executions, summary: String(done.output) };
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
