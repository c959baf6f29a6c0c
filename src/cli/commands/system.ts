// `stats`: system metrics and queue depths, or one instance's storage footprint.
import type { Command } from "commander";
import { InstanceNotFoundError } from "../../index.js";
import { withStore } from "../context.js";
import { fields, printJson, printLine } from "../output.js";

export function registerSystemCommands(program: Command): void {
  program
    .command("stats [id]")
    .description("system metrics and queue depths; with an id, that instance's storage footprint")
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      await withStore(cmd, async ({ client }, g) => {
        if (id !== undefined) {
          const s = await client.getOrchestrationStats(id);
          if (s === null) throw new InstanceNotFoundError(id);
          if (g.json) return printJson({ instanceId: id, ...s });
          return printLine(fields(Object.entries(s)));
        }
        const [metrics, queues] = await Promise.all([client.getSystemMetrics(), client.getQueueDepths()]);
        if (g.json) return printJson({ metrics, queues });
        printLine(fields([...Object.entries(metrics), ...Object.entries(queues)]));
      });
    });
}
