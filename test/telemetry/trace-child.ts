// Child process for restart.test: a runtime on a SQLite file with the OpenTelemetry SDK registered
// globally; every finished span is appended at once to a JSON-lines file (so a SIGKILL loses only
// spans that had not ended).
//   node trace-child.js --trace-child <db file> <spans file> <first|second>
// In `first`, the Slow activity never finishes (the parent kills the process while it runs).
import { appendFileSync } from "node:fs";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Runtime, SqliteProvider, type OrchestrationContext } from "../../src/index.js";
import { openTelemetry } from "../../src/telemetry/index.js";
import { record } from "./otel.js";

export const RESTART_OPTIONS = { dispatcherPollIntervalMs: 20, workerLockTimeoutMs: 1_000, orchestratorLockTimeoutMs: 1_000 } as const;

class FileSpanExporter implements SpanExporter {
  constructor(private readonly file: string) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    for (const s of spans) appendFileSync(this.file, JSON.stringify({ ...record(s), pid: process.pid }) + "\n");
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

async function main(db: string, spansFile: string, mode: string): Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(spansFile))] }));
  const rt = new Runtime(await SqliteProvider.open(`sqlite:${db}`), { ...RESTART_OPTIONS, telemetry: openTelemetry({ metrics: false }), logLevel: "error" });
  rt.registerActivity("Reserve", async (_ctx, seat: string) => `reserved ${seat}`);
  rt.registerActivity("Ticket", async (_ctx, seat: string) => {
    if (mode === "first") {
      process.stdout.write("ticket-started\n");
      await new Promise(() => undefined); // killed here
    }
    return `ticket for ${seat}`;
  });
  rt.registerOrchestration("Journey", async (ctx: OrchestrationContext, seat: string) => {
    const reserved = await ctx.scheduleActivity<string>("Reserve", seat);
    const ticket = await ctx.scheduleActivity<string>("Ticket", seat);
    return `${reserved}; ${ticket}`;
  });
  await rt.start();
  process.stdout.write("ready\n");
  setInterval(() => undefined, 60_000);
}

const at = process.argv.indexOf("--trace-child");
if (at >= 0) {
  const [db, spans, mode] = process.argv.slice(at + 1);
  main(db!, spans!, mode!).catch((err: unknown) => {
    process.stderr.write(`trace child failed: ${String(err instanceof Error ? err.stack : err)}\n`);
    process.exit(2);
  });
}
