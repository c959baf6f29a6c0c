// Database drivers are optional peer dependencies, loaded on first use: an app that only uses
// PostgreSQL never loads (or needs to install) better-sqlite3, and a SQLite app never loads pg.
import { createRequire } from "node:module";
import { DriverNotInstalledError } from "../model/errors.js";

// @ts-ignore TS1343 in the CommonJS pass, whose output scripts/build.mjs rewrites to __filename.
const requireHere = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/** The driver package's module, loaded once; a missing package is a DriverNotInstalledError. */
export function loadDriver<T>(packageName: string, provider: string): T {
  if (loaded.has(packageName)) return loaded.get(packageName) as T;
  let mod: unknown;
  try {
    mod = requireHere(packageName);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "MODULE_NOT_FOUND" && String((err as Error).message).includes(`'${packageName}'`)) {
      throw new DriverNotInstalledError(packageName, provider, err);
    }
    throw err;
  }
  loaded.set(packageName, mod);
  return mod as T;
}

/** Where the driver's entry file is, for worker threads that load it themselves. */
export function resolveDriver(packageName: string): string {
  return requireHere.resolve(packageName);
}
