// Small helpers shared by the examples: opening a store and printing what happens.
// Nothing here is needed to use Duroxide; it only keeps the examples short.
import { SqliteProvider, type RuntimeOptions } from "../src/index.js";

export interface ExampleOptions {
  /** SQLite URL such as "sqlite:/tmp/demo.db". Default: a private in-memory store. */
  storeUrl?: string;
  /** Print nothing (the tests use this). */
  quiet?: boolean;
}

/** Opens the store an example runs on: a SQLite file if a URL is given, else in memory. */
export async function openStore(storeUrl?: string): Promise<SqliteProvider> {
  return storeUrl ? SqliteProvider.open(storeUrl) : SqliteProvider.inMemory();
}

/** A `console.log` that honours `quiet`. */
export function printer(quiet?: boolean): (line: string) => void {
  return quiet ? () => undefined : (line: string) => console.log(line);
}

/**
 * Runtime options that route log records to `say`: the orchestration's `ctx.trace*` calls (which
 * are silent while the code replays) and runtime warnings and errors. In quiet mode only errors
 * are kept, on stderr.
 */
export function runtimeOptions(say: (line: string) => void, quiet?: boolean): RuntimeOptions {
  return {
    dispatcherPollIntervalMs: 20,
    logLevel: quiet ? "error" : "info",
    logSink: (r) => {
      if (quiet) {
        if (r.level === "error") console.error(`[duroxide ${r.level}] ${r.target}: ${r.message}`);
        return;
      }
      if (r.target.startsWith("duroxide::orchestration")) say(`  [trace] ${r.message}`);
      else if (r.target.startsWith("duroxide::activity")) say(`  [activity] ${r.message}`);
      else if (r.level === "warn" || r.level === "error") say(`  [duroxide ${r.level}] ${r.message}`);
    },
  };
}

/** Stand-in for network latency in the fake activities. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
