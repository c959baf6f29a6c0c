// Child process for heartbeat-kill.test: a runtime whose "Charge" activity heartbeats until the
// parent kills the process with SIGKILL.
//   node heartbeat-child.js --heartbeat-child <sqlite file | postgres url> <pg schema or "-"> <log file>
// Under dist/test, `node --test` also loads this file as a test module; without the flag it does
// nothing and exits.
import { appendFileSync } from "node:fs";
import { Runtime, SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { registerHeartbeatApp } from "./heartbeat-app.js";

async function main(argv: string[]): Promise<void> {
  const [store, schema, log] = argv;
  if (!store || !schema || !log) throw new Error("usage: --heartbeat-child <store> <schema|-> <log>");
  const provider: Provider =
    schema === "-" ? await SqliteProvider.open(`sqlite:${store}`) : await PostgresProvider.connectWithSchema(store, schema, { maxConnections: 4 });
  // The default 30 s worker lock: only the heartbeat timeout can make the loss visible sooner.
  const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
  registerHeartbeatApp(rt, {
    charge: async (ctx) => {
      appendFileSync(log, `start ${ctx.activityId} ${ctx.attempt} ${Date.now()}\n`);
      for (let i = 1; ; i++) {
        ctx.heartbeat({ charged: i });
        appendFileSync(log, `beat ${i}\n`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  });
  await rt.start();
  process.stdout.write("started\n");
  setInterval(() => undefined, 60_000);
}

const at = process.argv.indexOf("--heartbeat-child");
if (at >= 0) {
  main(process.argv.slice(at + 1)).catch((err: unknown) => {
    process.stderr.write(`heartbeat child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
