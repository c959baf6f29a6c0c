// Several runtimes (as if several processes) sharing one store: a SQLite file or a PostgreSQL schema,
// each runtime on its own provider object.
import { Runtime, Client, type RuntimeOptions, type Provider } from "../../src/index.js";
import { openStore, type ProviderKind } from "./harness.js";

export interface Node {
  provider: Provider;
  runtime: Runtime;
  stop(graceMs?: number): Promise<void>;
}

export class SharedStore {
  #store: ReturnType<typeof openStore> | null = null;
  #nodes: Node[] = [];
  #client: { provider: Provider; client: Client } | null = null;

  constructor(readonly kind: ProviderKind = "sqlite") {}

  async #open(): Promise<Provider> {
    this.#store ??= openStore(this.kind);
    return (await this.#store).open();
  }

  async client(): Promise<Client> {
    if (!this.#client) {
      const provider = await this.#open();
      this.#client = { provider, client: new Client(provider) };
    }
    return this.#client.client;
  }

  /** A runtime on its own provider object (no in-process notifications across nodes). */
  async node(setup: (rt: Runtime) => void, options: RuntimeOptions = {}, wrap?: (p: Provider) => Provider): Promise<Node> {
    const provider = await this.#open();
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
    if (this.#store) await (await this.#store).destroy();
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
