// Where a Client finds a started Runtime of this process on the same Provider object, so that a
// start can run the instance's first turn here and store it with the creation
// (`Provider.createInstanceWithTurn`). The client layer may not import the runtime: the runtime
// registers itself here on start and leaves on shutdown, and the client asks per start.
import type { Provider } from "../providers/provider.js";
import type { WorkItemOf } from "../model/workItems.js";

/** What a runtime offers a client on its provider: starting an instance with its first turn. */
export interface LocalStarter {
  /**
   * Runs the start's first turn here and stores it with the instance's creation. Resolves true
   * once the start is stored (with the turn, or queued by the store as `createInstance` queues
   * it); false when nothing was written (not registered here, no free slot, stopping, ...): the
   * caller then creates the instance as usual. Rejects as `createInstance` does (an id taken).
   */
  start(item: WorkItemOf<"StartOrchestration">): Promise<boolean>;
}

/** By provider object: the starters of the runtimes running on it, first registered first asked. */
const starters = new WeakMap<Provider, LocalStarter[]>();

/** Registers `starter` for `provider`; returns its removal. */
export function registerLocalStarter(provider: Provider, starter: LocalStarter): () => void {
  const list = starters.get(provider) ?? [];
  list.push(starter);
  starters.set(provider, list);
  return () => {
    const now = starters.get(provider);
    if (!now) return;
    const rest = now.filter((s) => s !== starter);
    if (rest.length > 0) starters.set(provider, rest);
    else starters.delete(provider);
  };
}

/**
 * Starts `item` through a local runtime on `provider` when one takes it. False: none did and
 * nothing was written.
 */
export async function startLocally(provider: Provider, item: WorkItemOf<"StartOrchestration">): Promise<boolean> {
  const list = starters.get(provider);
  if (list === undefined) return false;
  for (const s of list) if (await s.start(item)) return true;
  return false;
}
