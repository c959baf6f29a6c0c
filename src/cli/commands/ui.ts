// `duroxide ui`: serves the dashboard from this process until interrupted.
import type { Command } from "commander";
import { DEFAULT_HOST, DEFAULT_PORT, startDashboardServer } from "../../dashboard/server.js";
import { globals } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { printJson, printLine } from "../output.js";
import { parseCount } from "../parse.js";
import { openStore } from "../store.js";

interface UiOptions {
  port: string;
  host: string;
  allowActions?: boolean;
  token?: string;
}

export function registerUiCommand(program: Command): void {
  program
    .command("ui")
    .description("serve the web dashboard (read-only unless --allow-actions)")
    .option("--port <n>", "port (0 picks a free one)", String(DEFAULT_PORT))
    .option("--host <address>", "address to bind; anything but loopback requires a token", DEFAULT_HOST)
    .option("--allow-actions", "allow raise, cancel and delete from the page")
    .option("--token <secret>", "access token (default: generated when binding off loopback; or $DUROXIDE_UI_TOKEN)")
    .action(async (o: UiOptions, cmd: Command) => {
      const port = parseCount(o.port, "--port", 0, 65535);
      const token = o.token ?? process.env["DUROXIDE_UI_TOKEN"];
      const g = globals(cmd);
      const store = await openStore(g);
      let server;
      try {
        server = await startDashboardServer(store.client, {
          host: o.host,
          port,
          allowActions: o.allowActions === true,
          ...(token ? { token } : {}),
        });
      } catch (err) {
        await store.close().catch(() => undefined);
        const code = (err as NodeJS.ErrnoException).code;
        throw new CliError(`cannot listen on ${o.host}:${port}: ${code === "EADDRINUSE" ? "address in use" : (err as Error).message}`, EXIT.usage);
      }
      const mode = o.allowActions ? "actions enabled" : "read-only";
      if (g.json) printJson({ url: server.url, host: server.host, port: server.port, allowActions: o.allowActions === true, store: store.label });
      else printLine(`Duroxide dashboard on ${server.url} (${store.label}, ${mode}); Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
      await store.close().catch(() => undefined);
    });
}
