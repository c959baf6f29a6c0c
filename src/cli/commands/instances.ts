// Read-only commands about instances: list, show, history, tree.
import type { Command } from "commander";
import { ErrorDetails, type HistoryEvent, type InstanceSummary, type ListInstancesOptions } from "../../index.js";
import { historyDocument, instanceDetails, treeDocument, type TreeNode } from "../../dashboard/views.js";
import { withStore } from "../context.js";
import { duration, fields, isoTime, preview, printJson, printLine, table } from "../output.js";
import { parseCount, parseStatus, parseTime } from "../parse.js";

interface ListOptions {
  status?: string;
  name?: string;
  since?: string;
  until?: string;
  limit: string;
  cursor?: string;
  all?: boolean;
}

export function registerInstanceCommands(program: Command): void {
  program
    .command("list")
    .description("list instances, newest first (keyset-paged: pass the printed cursor for the next page)")
    .option("--status <status>", "Running, Completed, Failed or ContinuedAsNew")
    .option("--name <orchestration>", "only this orchestration name")
    .option("--since <time>", "created at or after (ISO date, epoch ms, or an age like 2h)")
    .option("--until <time>", "created before (same forms as --since)")
    .option("--limit <n>", "page size, 1..1000", "50")
    .option("--cursor <cursor>", "continue after a previous page")
    .option("--all", "follow every page (ignores --cursor)")
    .action(async (o: ListOptions, cmd: Command) => {
      const query: ListInstancesOptions = { limit: parseCount(o.limit, "--limit", 1, 1000) };
      if (o.status !== undefined) query.status = parseStatus(o.status);
      if (o.name !== undefined) query.orchestrationName = o.name;
      if (o.since !== undefined) query.createdAfter = parseTime(o.since, "--since");
      if (o.until !== undefined) query.createdBefore = parseTime(o.until, "--until");
      await withStore(cmd, async ({ client }, g) => {
        const items: InstanceSummary[] = [];
        let cursor: string | null = o.all ? null : (o.cursor ?? null);
        do {
          const page = await client.listInstances({ ...query, cursor });
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (o.all && cursor !== null);
        if (g.json) return printJson({ items, nextCursor: cursor });
        printLine(
          table(
            ["INSTANCE", "ORCHESTRATION", "VERSION", "STATUS", "EXEC", "CREATED", "UPDATED", "PARENT"],
            items.map((i) => [i.instanceId, i.orchestrationName, i.orchestrationVersion, i.status, i.currentExecutionId, isoTime(i.createdAt), isoTime(i.updatedAt), i.parentInstanceId]),
          ),
        );
        printLine(`${items.length} instance${items.length === 1 ? "" : "s"}${cursor ? `; next page: --cursor ${cursor}` : ""}`);
      });
    });

  program
    .command("show <id>")
    .description("an instance: status, input, output or error, custom status, KV, executions, children")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withStore(cmd, async ({ client }, g) => {
        const d = await instanceDetails(client, id);
        if (g.json) return printJson(d);
        printLine(
          fields([
            ["instance", d.instanceId],
            ["orchestration", `${d.orchestrationName}@${d.orchestrationVersion}`],
            ["status", d.status],
            ["execution", d.currentExecutionId],
            ["created", isoTime(d.createdAt)],
            ["updated", isoTime(d.updatedAt)],
            ["parent", d.parentInstanceId ?? "-"],
            ["input", preview(d.input, 400)],
            ...(d.status === "Completed" ? [["output", preview(d.output, 400)] as [string, string]] : []),
            ...(d.error ? [["error", d.error.message] as [string, string]] : []),
            ["custom status", d.customStatus ?? "-"],
            ["events", d.stats?.historyEventCount ?? ""],
          ]),
        );
        const kv = Object.entries(d.kv);
        if (kv.length > 0) {
          printLine("\nKV");
          printLine(table(["KEY", "VALUE"], kv.map(([k, v]) => [k, preview(v, 100)])));
        }
        printLine(`\nExecutions (${d.executionCount})`);
        printLine(
          table(
            ["EXEC", "STATUS", "STARTED", "COMPLETED", "EVENTS"],
            d.executions.map((e) => [e.executionId, e.status, isoTime(e.startedAt), isoTime(e.completedAt), e.eventCount]),
          ),
        );
        if (d.childCount > 0) {
          printLine(`\nChildren (${d.childCount})`);
          printLine(table(["INSTANCE", "ORCHESTRATION", "STATUS"], d.children.map((c) => [c.instanceId, c.orchestrationName, c.status])));
        }
      });
    });

  program
    .command("history <id>")
    .description("the history of one execution as a readable timeline")
    .option("--execution <n>", "execution number (default: the current one)")
    .action(async (id: string, o: { execution?: string }, cmd: Command) => {
      const exec = o.execution === undefined ? undefined : parseCount(o.execution, "--execution", 1);
      await withStore(cmd, async ({ client }, g) => {
        const doc = await historyDocument(client, id, exec);
        if (g.json) return printJson(doc);
        const t0 = doc.events[0]?.timestampMs ?? 0;
        const byId = new Map(doc.events.map((e) => [e.eventId, e]));
        printLine(`${doc.instanceId} execution ${doc.executionId} of ${doc.executions.length}, ${doc.events.length} events, starting ${isoTime(t0)}`);
        printLine(
          table(
            ["#", "AT", "EVENT", "DETAIL"],
            doc.events.map((e) => [e.eventId, `+${duration(e.timestampMs - t0)}`, e.type, describeEvent(e, byId)]),
          ),
        );
      });
    });

  program
    .command("tree <id>")
    .description("the instance and its sub-orchestrations, recursively")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withStore(cmd, async ({ client }, g) => {
        const doc = await treeDocument(client, id);
        if (g.json) return printJson(doc);
        const lines: string[] = [];
        const walk = (n: TreeNode, prefix: string, last: boolean, root: boolean) => {
          lines.push(`${root ? "" : `${prefix}${last ? "└─ " : "├─ "}`}${n.instanceId}  ${n.orchestrationName}  ${n.status}`);
          const next = root ? "" : `${prefix}${last ? "   " : "│  "}`;
          n.children.forEach((c, i) => walk(c, next, i === n.children.length - 1, false));
        };
        walk(doc.root, "", true, true);
        for (const l of lines) printLine(l);
        if (doc.truncated) printLine(`… ${doc.size} instances in all; the first ${lines.length} are shown`);
      });
    });
}

/** One line saying what an event means; settling events say how long their work took. */
function describeEvent(e: HistoryEvent, byId: Map<number, HistoryEvent>): string {
  const src = e.sourceEventId === null ? undefined : byId.get(e.sourceEventId);
  const took = src ? ` after ${duration(e.timestampMs - src.timestampMs)}` : "";
  const what = src && "name" in src ? `${String(src.name)} ` : "";
  switch (e.type) {
    case "OrchestrationStarted":
      return `${e.name}@${e.version} input ${preview(e.input)}${e.parentInstance ? ` (child of ${e.parentInstance})` : ""}`;
    case "OrchestrationCompleted":
      return `output ${preview(e.output)}`;
    case "OrchestrationFailed":
    case "ActivityFailed":
    case "SubOrchestrationFailed":
      return `${what}${new ErrorDetails(e.details).displayMessage()}${took}`;
    case "OrchestrationContinuedAsNew":
      return `next input ${preview(e.input)}`;
    case "ActivityScheduled":
      return `${e.name} input ${preview(e.input)}${e.sessionId ? ` session ${e.sessionId}` : ""}`;
    case "ActivityCompleted":
    case "SubOrchestrationCompleted":
      return `${what}→ ${preview(e.result)}${took}`;
    case "TimerCreated":
      return `fires at ${isoTime(e.fireAtMs)}`;
    case "TimerFired":
      return `timer #${e.sourceEventId ?? "?"}${took}`;
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return e.name;
    case "ExternalEvent":
    case "QueueEventDelivered":
      return `${e.name} ${preview(e.data)}`;
    case "SubOrchestrationScheduled":
    case "OrchestrationChained":
      return `${e.name} as ${e.instance} input ${preview(e.input)}`;
    case "CustomStatusUpdated":
      return preview(e.status ?? "(cleared)");
    case "KeyValueSet":
      return `${e.key} = ${preview(e.value)}`;
    case "KeyValueCleared":
      return e.key;
    case "SystemCall":
      return `${e.op} → ${e.value}`;
    case "OrchestrationCancelRequested":
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "ExternalSubscribedCancelled":
    case "QueueSubscriptionCancelled":
      return `${what}${e.reason}${took}`;
    default:
      return "";
  }
}
