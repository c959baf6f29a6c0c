// The `duroxide` command line: commands, global options, exit codes and one-line errors.
import { Command, CommanderError } from "commander";
import { registerActionCommands } from "./commands/actions.js";
import { registerDeadLetterCommands } from "./commands/deadLetters.js";
import { registerTestingCommands } from "./commands/testing.js";
import { registerInstanceCommands } from "./commands/instances.js";
import { registerSystemCommands } from "./commands/system.js";
import { registerUiCommand } from "./commands/ui.js";
import { EXIT, exitCodeOf, oneLine } from "./errors.js";

const EXIT_HELP = `
Store:
  --store takes sqlite:./app.db, a plain file path, or postgres://user@host/db (with --schema
  for a non-public schema); DUROXIDE_STORE is used when --store is absent.

Exit codes:
  0 ok, 1 check failed (verify), 2 bad arguments or input, 3 instance not found,
  4 store unreachable, 5 refused by the store (still running, sub-orchestration), 70 internal error`;

export function buildProgram(): Command {
  const program = new Command("duroxide")
    .description("Inspect and operate Duroxide orchestrations in a SQLite or PostgreSQL store")
    .option("--store <url>", "the store (default: $DUROXIDE_STORE)")
    .option("--schema <name>", "PostgreSQL schema (default: public)")
    .option("--codec <module>", "module exporting the app's PayloadCodec, to read encoded payloads")
    .option("--json", "print one JSON document instead of tables")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText("after", EXIT_HELP)
    .exitOverride();
  registerInstanceCommands(program);
  registerActionCommands(program);
  registerSystemCommands(program);
  registerDeadLetterCommands(program);
  registerTestingCommands(program);
  registerUiCommand(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI; resolves to the exit code (the bin sets process.exitCode, so output is flushed). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const code = exitCodeOf(err);
    process.stderr.write(`duroxide: ${oneLine(err)}\n`);
    if (code === EXIT.internal && process.env["DUROXIDE_DEBUG"] && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}
