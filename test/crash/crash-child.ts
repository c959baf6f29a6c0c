// Child process for crash.test: runs the runtime on a SQLite file and starts instances, then keeps
// running until the parent kills it with SIGKILL.
//   node crash-child.js --crash-child <scenario: pipeline|sequence|sleeper> <db file, or pg:<url>#<schema>> <log file> <instances>
// Under dist/test, `node --test` also loads this file as a test module; without --crash-child it
// does nothing and exits.
import { Runtime, SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { CRASH_RUNTIME_OPTIONS, register } from "./app.js";

async function main(argv: string[]): Promise<void> {
  const [scenario, db, log, n] = argv;
  if (!scenario || !db || !log || !n) throw new Error("usage: --crash-child <scenario> <db> <log> <instances>");
  // "pg:<url>#<schema>" runs on PostgreSQL; anything else is a SQLite file.
  const provider: Provider = db.startsWith("pg:")
    ? await PostgresProvider.connectWithSchema(db.slice(3, db.lastIndexOf("#")), db.slice(db.lastIndexOf("#") + 1), { maxConnections: 6 })
    : await SqliteProvider.open(`sqlite:${db}`);
  const rt = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
  register(rt, log);
  await rt.start();
  const name = scenario === "pipeline" ? "Pipeline" : scenario === "sequence" ? "Sequence" : "Sleeper";
  for (let i = 0; i < Number(n); i++) await rt.client.startOrchestration(`${scenario}-${i}`, name, null);
  process.stdout.write("started\n");
  // Stay alive (the runtime's timers are unref'd) until killed.
  setInterval(() => undefined, 60_000);
}

const at = process.argv.indexOf("--crash-child");
if (at >= 0) {
  main(process.argv.slice(at + 1)).catch((err: unknown) => {
    process.stderr.write(`crash child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
