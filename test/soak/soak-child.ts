// A runtime process of the soak, on a SQLite file or a PostgreSQL schema, until killed.
//   node soak-child.js --soak-child <sqlite|postgres> <url> <schema|-> <log>
import { ProviderError, Runtime, SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { SOAK_RUNTIME_OPTIONS, registerSoak } from "./app.js";

async function main([kind, url, schema, log]: string[]): Promise<void> {
  // A process started while the server is down waits for it (connect fails retryably meanwhile).
  let provider: Provider | null = null;
  for (let n = 0; provider === null; n++) {
    try {
      provider = kind === "sqlite" ? await SqliteProvider.open(url!) : await PostgresProvider.connectWithSchema(url!, schema!, { maxConnections: 4 });
    } catch (err) {
      if (!(err instanceof ProviderError && err.retryable) || n > 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const rt = new Runtime(provider, SOAK_RUNTIME_OPTIONS);
  registerSoak(rt, log!);
  await rt.start();
  process.stdout.write("ready\n");
  setInterval(() => undefined, 60_000);
}

const at = process.argv.indexOf("--soak-child");
if (at >= 0) {
  main(process.argv.slice(at + 1)).catch((err: unknown) => {
    process.stderr.write(`soak child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
