// Several runtimes (as if several processes) sharing one SQLite file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, Client, SqliteProvider, type RuntimeOptions, type Provider } from "../../src/index.js";

export interface Node {
  provider: SqliteProvider;
  runtime: Runtime;
  stop(graceMs?: number): Promise<void>;
}

export class SharedStore {
  readonly dir = mkdtempSync(join(tmpdir(), "dx-multi-"));
  readonly url = `sqlite:${join(this.dir, "store.db")}`;
  #nodes: Node[] = [];
  #client: { provider: SqliteProvider; client: Client } | null = null;

  async client(): Promise<Client> {
    if (!this.#client) {
      const provider = await SqliteProvider.open(this.url);
      this.#client = { provider, client: new Client(provider) };
    }
    return this.#client.client;
  }

  /** A runtime on its own provider object (no in-process notifications across nodes). */
  async node(setup: (rt: Runtime) => void, options: RuntimeOptions = {}, wrap?: (p: Provider) => Provider): Promise<Node> {
    const provider = await SqliteProvider.open(this.url);
    const runtime = new Runtime(wrap ? wrap(provider) : provider, { dispatcherPollIntervalMs: 20, logLevel: "error", ...options });
    setup(runtime);
    await runtime.start();
    let stopped = false;
    const node: Node = {
      provider,
      runtime,
      async stop(graceMs = 200) {
        if (stopped) return;
        stopped = true;
        await runtime.shutdown(graceMs);
        await provider.close();
      },
    };
    this.#nodes.push(node);
    return node;
  }

  async close(): Promise<void> {
    for (const n of this.#nodes) await n.stop();
    if (this.#client) await this.#client.provider.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
