// Output for people (tables, trees) and for scripts (`--json`: one JSON document on stdout).
import Table from "cli-table3";

export interface OutputOptions {
  json?: boolean;
}

/** Writes one JSON document (scripts parse stdout; nothing else goes there under --json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** A table without colours, so piped output stays plain text. */
export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, wordWrap: false });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? "" : String(c))));
  return t.toString();
}

/** Two columns of labels and values. */
export function fields(rows: [string, string | number | null | undefined][]): string {
  const t = new Table({ style: { head: [], border: [], compact: true }, wordWrap: true, colWidths: [null, null] });
  for (const [k, v] of rows) t.push([k, v === null || v === undefined ? "" : String(v)]);
  return t.toString();
}

export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "" : new Date(ms).toISOString();
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** A JSON value shortened for one table cell. */
export function preview(value: unknown, max = 80): string {
  if (value === undefined) return "";
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
