// What every command gets: the global options and an open store that is closed afterwards.
import type { Command } from "commander";
import { openStore, type OpenStore } from "./store.js";

export interface GlobalOptions {
  store?: string;
  schema?: string;
  codec?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Opens the store named by the global options, runs `fn`, and always closes the store. */
export async function withStore<T>(cmd: Command, fn: (store: OpenStore, g: GlobalOptions) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const store = await openStore(g);
  try {
    return await fn(store, g);
  } finally {
    await store.close().catch(() => undefined);
  }
}
