// The test-kit commands: `export` (the history document replayHistory reads) and `verify` (the
// deploy gate: would the new code continue every in-flight instance?).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { Runtime } from "../../index.js";
import { verifyInFlight } from "../../testing/index.js";
import { loadRegister } from "../appModule.js";
import { withStore } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { oneLine } from "../errors.js";
import { printJson, printLine, table } from "../output.js";
import { parseCount } from "../parse.js";

export function registerTestingCommands(program: Command): void {
  program
    .command("export <id>")
    .description("the instance's history document (every execution), as replayHistory reads it; always JSON")
    .option("--out <file>", "write it to a file instead of stdout")
    .action(async (id: string, o: { out?: string }, cmd: Command) => {
      await withStore(cmd, async ({ client }) => {
        const doc = await client.exportHistory(id);
        if (o.out === undefined) return printJson(doc);
        try {
          writeFileSync(o.out, `${JSON.stringify(doc, null, 2)}\n`);
        } catch (err) {
          throw new CliError(`cannot write ${o.out}: ${oneLine(err)}`, EXIT.usage);
        }
        const events = doc.executions.reduce((n, e) => n + e.events.length, 0);
        printLine(`wrote ${o.out}: ${doc.executions.length} execution(s), ${events} events`);
      });
    });

  program
    .command("verify")
    .description("replay every running instance against the orchestrations a module registers; exit 1 if any would break")
    .requiredOption("--module <file>", "JS module whose default (or `register`) export takes a Runtime and registers the app's orchestrations")
    .option("--concurrency <n>", "instances replayed at once", "4")
    .addHelpText(
      "after",
      `
The module is the deploy candidate's registration code, e.g.

  // verify.mjs
  import { registerOrders } from "./dist/orders.js";
  export default function register(runtime) { registerOrders(runtime); }

The runtime is never started: nothing runs and nothing is written.`,
    )
    .action(async (o: { module: string; concurrency: string }, cmd: Command) => {
      const concurrency = parseCount(o.concurrency, "--concurrency", 1, 64);
      const register = await loadRegister(o.module);
      await withStore(cmd, async ({ provider }, g) => {
        const runtime = new Runtime(provider, { logLevel: "error" });
        try {
          await register(runtime);
        } catch (err) {
          throw new CliError(`the module's register function failed: ${oneLine(err)}`, EXIT.usage);
        }
        const r = await verifyInFlight(provider, runtime, { concurrency });
        const failures = r.failures.map((f) => ({ instanceId: f.instanceId, error: f.error.name, message: oneLine(f.error) }));
        if (g.json) printJson({ checked: r.checked, ok: failures.length === 0, failures });
        else {
          if (failures.length > 0) printLine(table(["INSTANCE", "ERROR", "MESSAGE"], failures.map((f) => [f.instanceId, f.error, f.message])));
          printLine(`${r.checked} in-flight instance(s) replayed; ${failures.length === 0 ? "all would continue" : `${failures.length} would break`}`);
        }
        if (failures.length > 0) throw new VerifyFailed(failures.length);
      });
    });
}

/** `verify` found instances that would break: exit 1, the report is already on stdout. */
export class VerifyFailed extends CliError {
  constructor(readonly count: number) {
    super(`${count} in-flight instance(s) would not replay with this code`, EXIT.checkFailed);
  }
}
