// Parses the connection strings accepted by SqliteProvider.open.
import { isAbsolute, resolve } from "node:path";

export type SqliteLocation = { kind: "memory" } | { kind: "file"; path: string };

/**
 * Accepts "sqlite:/abs/path.db", "sqlite:///abs/path.db", "sqlite:rel.db", "sqlite:./rel.db",
 * "sqlite::memory:", ":memory:" or a plain file path. A query string ("?mode=rwc") is ignored.
 * Relative paths resolve against the current working directory.
 */
export function parseSqliteUrl(url: string): SqliteLocation {
  let rest = url.trim();
  if (rest.length === 0) throw new Error("empty SQLite URL");
  if (rest.toLowerCase().startsWith("sqlite:")) {
    rest = rest.slice("sqlite:".length);
    if (rest.startsWith("//")) rest = rest.slice(2);
    const q = rest.indexOf("?");
    if (q >= 0) rest = rest.slice(0, q);
  }
  if (rest === ":memory:") return { kind: "memory" };
  if (rest === "") throw new Error(`SQLite URL has no path: ${url}`);
  return { kind: "file", path: isAbsolute(rest) ? rest : resolve(rest) };
}
