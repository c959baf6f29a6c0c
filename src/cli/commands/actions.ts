// Commands that change instances: raise, enqueue, cancel, delete, prune.
import type { Command } from "commander";
import type { InstanceFilter, PruneOptions } from "../../index.js";
import { withStore } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { fields, printJson, printLine } from "../output.js";
import { parseCount, parseJsonArg, parseTime } from "../parse.js";

const JSON_HELP = "JSON data inline, - for stdin, or @file (default null)";

export function registerActionCommands(program: Command): void {
  program
    .command("raise <id> <event> [json]")
    .description("raise an external event on an instance")
    .addHelpText("after", `\n  [json]  ${JSON_HELP}`)
    .action(async (id: string, event: string, json: string | undefined, _o: unknown, cmd: Command) => {
      const data = parseJsonArg(json, "event data");
      await withStore(cmd, async ({ client }, g) => {
        await client.raiseEvent(id, event, data);
        done(g.json, { instanceId: id, event, raised: true }, `raised '${event}' on ${id}`);
      });
    });

  program
    .command("enqueue <id> <queue> [json]")
    .description("put a message on an instance's queue (read by dequeueEvent)")
    .addHelpText("after", `\n  [json]  ${JSON_HELP}`)
    .action(async (id: string, queue: string, json: string | undefined, _o: unknown, cmd: Command) => {
      const data = parseJsonArg(json, "queue message");
      await withStore(cmd, async ({ client }, g) => {
        await client.enqueueEvent(id, queue, data);
        done(g.json, { instanceId: id, queue, enqueued: true }, `enqueued on '${queue}' of ${id}`);
      });
    });

  program
    .command("cancel <id>")
    .description("cancel an instance (it ends Failed with the reason; its children are cancelled too)")
    .option("--reason <text>", "recorded with the cancellation", "cancelled from the CLI")
    .action(async (id: string, o: { reason: string }, cmd: Command) => {
      await withStore(cmd, async ({ client }, g) => {
        await client.cancelInstance(id, o.reason);
        done(g.json, { instanceId: id, cancelRequested: true, reason: o.reason }, `cancellation of ${id} requested`);
      });
    });

  program
    .command("delete <id>")
    .description("delete a root instance with all its sub-orchestrations (refused while running unless --force)")
    .option("--force", "delete even while it (or a descendant) runs")
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => {
      await withStore(cmd, async ({ client }, g) => {
        const r = await client.deleteInstance(id, o.force === true);
        if (g.json) return printJson({ instanceId: id, ...r });
        printLine(`deleted ${id}`);
        printLine(fields(Object.entries(r)));
      });
    });

  program
    .command("prune")
    .description("delete old executions of continue-as-new instances, or (--instances) whole finished instances")
    .option("--instance <id...>", "only these instances")
    .option("--completed-before <time>", "only what completed before (ISO date, epoch ms, or an age like 7d)")
    .option("--keep-last <n>", "executions to keep per instance, the current one included (default 1)")
    .option("--limit <n>", "at most this many instances (default 1000)")
    .option("--instances", "delete finished (Completed/Failed) root instances with their trees instead")
    .action(async (o: { instance?: string[]; completedBefore?: string; keepLast?: string; limit?: string; instances?: boolean }, cmd: Command) => {
      const filter: InstanceFilter = {};
      if (o.instance) filter.instanceIds = o.instance;
      if (o.completedBefore !== undefined) filter.completedBefore = parseTime(o.completedBefore, "--completed-before");
      if (o.limit !== undefined) filter.limit = parseCount(o.limit, "--limit");
      if (o.instances) {
        if (o.keepLast !== undefined) throw new CliError("--keep-last applies to pruning executions, not to --instances", EXIT.usage);
        if (filter.instanceIds === undefined && filter.completedBefore === undefined)
          throw new CliError("prune --instances needs --completed-before or --instance (refusing to delete every finished instance)", EXIT.usage);
      }
      await withStore(cmd, async ({ client }, g) => {
        if (o.instances) {
          const r = await client.deleteInstanceBulk(filter);
          if (g.json) return printJson(r);
          return printLine(fields(Object.entries(r)));
        }
        const options: PruneOptions = {};
        if (o.keepLast !== undefined) options.keepLast = parseCount(o.keepLast, "--keep-last");
        if (filter.completedBefore !== undefined) options.completedBefore = filter.completedBefore;
        const r = await client.pruneExecutionsBulk({ ...filter, completedBefore: undefined }, options);
        if (g.json) return printJson(r);
        printLine(fields(Object.entries(r)));
      });
    });
}

function done(json: boolean | undefined, doc: Record<string, unknown>, line: string): void {
  if (json) printJson(doc);
  else printLine(line);
}
