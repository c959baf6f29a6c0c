// Opens the store a command talks to: `--store <url>` or DUROXIDE_STORE, PostgreSQL or SQLite.
import { existsSync } from "node:fs";
import { Client, PostgresProvider, SqliteProvider, withPayloadCodec, type Provider } from "../index.js";
import { loadCodec } from "./appModule.js";
import { CliError, EXIT } from "./errors.js";

export interface StoreOptions {
  store?: string;
  schema?: string;
  /** A module exporting the app's PayloadCodec; payloads are decoded (and encoded) with it. */
  codec?: string;
}

export interface OpenStore {
  provider: Provider;
  client: Client;
  /** A short description for messages ("sqlite:/abs/app.db", "postgres schema app"). */
  label: string;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The path of a SQLite store URL or plain path (null for in-memory, which a CLI cannot share). */
function sqlitePath(url: string): string | null {
  let rest = url.trim();
  if (rest.toLowerCase().startsWith("sqlite:")) {
    rest = rest.slice("sqlite:".length);
    if (rest.startsWith("//")) rest = rest.slice(2);
    const q = rest.indexOf("?");
    if (q >= 0) rest = rest.slice(0, q);
  }
  return rest === ":memory:" || rest === "" ? null : rest;
}

export function resolveStoreUrl(opts: StoreOptions): string {
  const url = opts.store ?? process.env["DUROXIDE_STORE"];
  if (!url || url.trim() === "")
    throw new CliError("no store given: pass --store <url> (sqlite:./app.db, a file path, postgres://…) or set DUROXIDE_STORE", EXIT.usage);
  return url.trim();
}

/**
 * Opens the store without creating one: a missing SQLite file is an error rather than a fresh
 * empty store, because an operator who mistypes a path must not be shown "no instances".
 */
export async function openStore(opts: StoreOptions): Promise<OpenStore> {
  const url = resolveStoreUrl(opts);
  const codec = opts.codec === undefined ? null : await loadCodec(opts.codec);
  let provider: Provider;
  let label: string;
  try {
    if (isPostgresUrl(url)) {
      provider = opts.schema ? await PostgresProvider.connectWithSchema(url, opts.schema) : await PostgresProvider.connect(url);
      label = `postgres schema ${opts.schema ?? "public"}`;
    } else {
      if (opts.schema) throw new CliError("--schema applies to PostgreSQL stores only", EXIT.usage);
      const path = sqlitePath(url);
      if (path === null) throw new CliError("an in-memory SQLite store cannot be shared with the CLI; give a file", EXIT.usage);
      if (!existsSync(path)) throw new CliError(`store not found: no SQLite file at ${path}`, EXIT.store);
      // No background checkpointer: the CLI is short-lived and reads far more than it writes.
      provider = await SqliteProvider.open(url, { checkpointIntervalMs: 0 });
      label = `sqlite:${path}`;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot open store ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`, EXIT.store);
  }
  const raw = provider;
  if (codec) provider = withPayloadCodec(raw, codec);
  const client = new Client(provider);
  return { provider, client, label, close: () => raw.close() };
}

/** Hides a password in a connection string before it is printed. */
export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, "$1***@");
}
