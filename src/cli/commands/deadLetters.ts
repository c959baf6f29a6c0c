// `dead-letters`: messages a store set aside (unreadable, or with an id no query can match), so an
// operator can see them, put the readable ones back on their queue, or drop them.
import type { Command } from "commander";
import { withStore } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { isoTime, preview, printJson, printLine, table } from "../output.js";
import { parseCount } from "../parse.js";

export function registerDeadLetterCommands(program: Command): void {
  const group = program
    .command("dead-letters")
    .description("messages the store set aside: list them (default), retry <id> or discard <id>");

  group
    .command("list", { isDefault: true })
    .description("list dead letters, oldest first")
    .option("--limit <n>", "page size (default 100)")
    .option("--after <id>", "only dead letters after this id (keyset paging)")
    .action(async (o: { limit?: string; after?: string }, cmd: Command) => {
      const options = {
        ...(o.limit !== undefined ? { limit: parseCount(o.limit, "--limit", 1) } : {}),
        ...(o.after !== undefined ? { afterId: parseCount(o.after, "--after") } : {}),
      };
      await withStore(cmd, async ({ client }, g) => {
        const letters = await client.listDeadLetters(options);
        if (g.json) return printJson({ items: letters, next: letters.length > 0 ? letters[letters.length - 1]!.id : null });
        if (letters.length === 0) return printLine("no dead letters");
        printLine(
          table(
            ["id", "queue", "instance", "set aside", "retryable", "why", "message"],
            letters.map((d) => [d.id, d.queue, d.instanceId, isoTime(d.createdAtMs), d.item ? "yes" : "no", preview(d.error, 60), preview(d.payload, 60)]),
          ),
        );
      });
    });

  group
    .command("retry <id>")
    .description("put a readable dead letter back on its queue")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const n = parseCount(id, "dead letter id");
      await withStore(cmd, async ({ client }, g) => {
        await client.retryDeadLetter(n);
        if (g.json) printJson({ id: n, retried: true });
        else printLine(`dead letter ${n} is back on its queue`);
      });
    });

  group
    .command("discard <id>")
    .description("delete a dead letter for good")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const n = parseCount(id, "dead letter id");
      await withStore(cmd, async ({ client }, g) => {
        if (!(await client.discardDeadLetter(n))) throw new CliError(`no dead letter with id ${n}`, EXIT.notFound);
        if (g.json) printJson({ id: n, discarded: true });
        else printLine(`dead letter ${n} discarded`);
      });
    });
}
