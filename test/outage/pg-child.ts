// Child process of the PostgreSQL outage test: a runtime on one schema, kept alive until killed.
//   node pg-child.js --outage-child <url> <schema> <log file>
// Prints "ready" once started. Without --outage-child it does nothing (node --test loads it).
import { Runtime } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { OUTAGE_RUNTIME_OPTIONS, register } from "./app.js";

async function main(argv: string[]): Promise<void> {
  const [url, schema, log] = argv;
  if (!url || !schema || !log) throw new Error("usage: --outage-child <url> <schema> <log>");
  const provider = await PostgresProvider.connectWithSchema(url, schema, { maxConnections: 4 });
  const rt = new Runtime(provider, OUTAGE_RUNTIME_OPTIONS);
  register(rt, log);
  await rt.start();
  process.stdout.write("ready\n");
  setInterval(() => undefined, 60_000);
}

const at = process.argv.indexOf("--outage-child");
if (at >= 0) {
  main(process.argv.slice(at + 1)).catch((err: unknown) => {
    process.stderr.write(`outage child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
