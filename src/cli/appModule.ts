// Loading the user's modules the CLI is pointed at: `verify --module` (registers the app's
// orchestrations) and `--codec` (the payload codec the app stores with).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PayloadCodec, Runtime } from "../index.js";
import { CliError, EXIT } from "./errors.js";

/**
 * The contract of a `verify --module` file: its default export (or an export named `register`) is
 * called with a Runtime that is never started, and registers on it the orchestrations (and
 * activities) of the code about to be deployed — typically the same function the app calls on
 * its own runtime at startup.
 */
export type RegisterApp = (runtime: Runtime) => void | Promise<void>;

/**
 * The contract of a `--codec` file: its default export (or an export named `codec`) is the
 * PayloadCodec the app passes to withPayloadCodec, or a function (possibly async) returning it.
 */
export type CodecExport = PayloadCodec | (() => PayloadCodec | Promise<PayloadCodec>);

async function load(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot load ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
}

export async function loadRegister(file: string): Promise<RegisterApp> {
  const mod = await load(file, "module");
  const fn = typeof mod["default"] === "function" ? mod["default"] : mod["register"];
  if (typeof fn !== "function")
    throw new CliError(`module ${file} must export a function (default or "register") that takes a Runtime and registers the app's orchestrations`, EXIT.usage);
  return fn as RegisterApp;
}

function isCodec(v: unknown): v is PayloadCodec {
  return typeof v === "object" && v !== null && typeof (v as PayloadCodec).encode === "function" && typeof (v as PayloadCodec).decode === "function";
}

export async function loadCodec(file: string): Promise<PayloadCodec> {
  const mod = await load(file, "codec module");
  let v = mod["default"] ?? mod["codec"];
  if (typeof v === "function") v = await (v as () => unknown)();
  if (!isCodec(v)) throw new CliError(`codec module ${file} must export a PayloadCodec ({ encode, decode }) as default or "codec", or a function returning one`, EXIT.usage);
  return v;
}
