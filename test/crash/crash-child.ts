// Child process for crash.test: runs the runtime on a SQLite file and starts instances, then keeps
// running until the parent kills it with SIGKILL.
//   node crash-child.js --crash-child <scenario: pipeline|starts|sequence|sleeper> <db file, or pg:<url>#<schema>> <log file> <instances>
// Under dist/test, `node --test` also loads this file as a test module; without --crash-child it
// does nothing and exits.
import { Runtime, SqliteProvider, type Provider } from "../../src/index.js";
import { PostgresProvider } from "../../src/providers/postgres/index.js";
import { CRASH_RUNTIME_OPTIONS, register } from "./app.js";

async function main(argv: string[]): Promise<void> {
  const [scenario, db, log, n] = argv;
  if (!scenario || !db || !log || !n) throw new Error("usage: --crash-child <scenario> <db> <log> <instances>");
  // "pg:<url>#<schema>" runs on PostgreSQL; anything else is a SQLite file.
  const store: Provider = db.startsWith("pg:")
    ? await PostgresProvider.connectWithSchema(db.slice(3, db.lastIndexOf("#")), db.slice(db.lastIndexOf("#") + 1), { maxConnections: 6 })
    : await SqliteProvider.open(`sqlite:${db}`);
  // Counts the starts stored with their first turn (createInstanceWithTurn), reported to the parent.
  let startTurns = 0;
  const provider = new Proxy(store, {
    get(target, key) {
      if (key === "createInstanceWithTurn" && target.createInstanceWithTurn !== undefined) {
        return async (...args: Parameters<NonNullable<Provider["createInstanceWithTurn"]>>) => {
          const r = await target.createInstanceWithTurn!(...args);
          if (r.applied) startTurns++;
          return r;
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const rt = new Runtime(provider, CRASH_RUNTIME_OPTIONS);
  register(rt, log);
  await rt.start();
  // "starts": pipelines, killed right after their starts resolved (each start runs its first turn here).
  const name = scenario === "pipeline" || scenario === "starts" ? "Pipeline" : scenario === "sequence" ? "Sequence" : "Sleeper";
  for (let i = 0; i < Number(n); i++) await rt.client.startOrchestration(`${scenario}-${i}`, name, null);
  process.stdout.write(`start turns ${startTurns}\nstarted\n`);
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
