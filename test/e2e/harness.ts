// End-to-end harness: a runtime and client on a real SQLite file in a fresh temp dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, Client, SqliteProvider, type RuntimeOptions } from "../../src/index.js";

export interface Harness {
  provider: SqliteProvider;
  runtime: Runtime;
  client: Client;
  dir: string;
  close(): Promise<void>;
}

export async function harness(setup: (rt: Runtime) => void, options: RuntimeOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "dx-e2e-"));
  const provider = await SqliteProvider.open(`sqlite:${join(dir, "store.db")}`);
  const runtime = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error", ...options });
  setup(runtime);
  await runtime.start();
  const client = new Client(provider);
  return {
    provider,
    runtime,
    client,
    dir,
    async close() {
      await runtime.shutdown(200);
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
