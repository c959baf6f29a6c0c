// Child of sqlite-concurrent-open.test: waits until a shared instant, then opens (and so creates
// and migrates) the SQLite file, starts an instance and prints "ok" (or the error).
//   node sqlite-open-child.js --open-child <db file> <start at ms> <instance id>
import { SqliteProvider, Client } from "../../src/index.js";

async function main([db, at, id]: string[]): Promise<void> {
  // Sleep to just before the instant, then spin to it: the opens start within a millisecond.
  await new Promise((r) => setTimeout(r, Math.max(0, Number(at) - Date.now() - 30)));
  while (Date.now() < Number(at));
  const p = await SqliteProvider.open(`sqlite:${db!}`);
  await new Client(p).startOrchestration(id!, "Any", null);
  await p.close();
  process.stdout.write("ok\n");
}

const at = process.argv.indexOf("--open-child");
if (at >= 0) {
  main(process.argv.slice(at + 1)).catch((err: unknown) => {
    process.stdout.write(`failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(3);
  });
}
