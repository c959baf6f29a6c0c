// Sub-orchestrations: a parent orchestration fans out to one child orchestration per order and
// gathers their results. Each child is a full orchestration with its own history (and could itself
// wait for events, sleep on timers or fan out further); the parent just awaits it like an activity.
// A child that fails surfaces in the parent as a thrown SubOrchestrationFailedError.
//
// Written with typed definitions: ctx.call and ctx.callSubOrchestration are checked by tsc, and the
// parent's ctx.join over the children is typed by the child's output.
//
//   npm run build && node dist/examples/sub-orchestrations.js
import { pathToFileURL } from "node:url";
import { Runtime, defineActivity, defineOrchestration } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface OrderLine {
  orderId: string;
  sku: string;
  qty: number;
}
interface Fulfilment {
  orderId: string;
  warehouse: string;
  trackingNumber: string;
}
export interface BatchResult {
  batchId: string;
  fulfilled: Fulfilment[];
  childInstances: string[];
}

const stock: Record<string, number> = { "BOOK-42": 100, "MUG-7": 50, "LAMP-3": 10 };

const reserveStock = defineActivity("ReserveStock", async (_ctx, line: OrderLine) => {
  await sleep(15);
  if ((stock[line.sku] ?? 0) < line.qty) throw new Error(`not enough ${line.sku}`);
  return line.sku === "LAMP-3" ? "warehouse-north" : "warehouse-south";
});
const createShipment = defineActivity("CreateShipment", async (_ctx, x: { orderId: string; warehouse: string }) => {
  await sleep(15); // idempotent by orderId in a real carrier API
  return `TRK-${x.orderId.toUpperCase()}`;
});

// Child: fulfil one order.
const fulfilOrder = defineOrchestration("FulfilOrder", async (ctx, line: OrderLine): Promise<Fulfilment & { instanceId: string }> => {
  const warehouse = await ctx.call(reserveStock, line);
  const trackingNumber = await ctx.call(createShipment, { orderId: line.orderId, warehouse });
  ctx.traceInfo(`order ${line.orderId} shipped from ${warehouse}`);
  return { orderId: line.orderId, warehouse, trackingNumber, instanceId: ctx.instanceId };
});

// Parent: one child per order, all running at once, then gather.
const fulfilBatch = defineOrchestration("FulfilBatch", async (ctx, batch: { batchId: string; lines: OrderLine[] }): Promise<BatchResult> => {
  ctx.traceInfo(`batch ${batch.batchId}: starting ${batch.lines.length} child orchestrations`);
  const children = batch.lines.map((line) => ctx.callSubOrchestration(fulfilOrder, line));
  const results = await ctx.join(children);
  return {
    batchId: batch.batchId,
    fulfilled: results.map(({ orderId, warehouse, trackingNumber }) => ({ orderId, warehouse, trackingNumber })),
    childInstances: results.map((r) => r.instanceId),
  };
});

export async function main(opts: ExampleOptions = {}): Promise<BatchResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.register(reserveStock, createShipment, fulfilOrder, fulfilBatch);
  await runtime.start();
  try {
    const batch = {
      batchId: "B-7",
      lines: [
        { orderId: "o-1", sku: "BOOK-42", qty: 2 },
        { orderId: "o-2", sku: "MUG-7", qty: 1 },
        { orderId: "o-3", sku: "LAMP-3", qty: 1 },
        { orderId: "o-4", sku: "BOOK-42", qty: 5 },
      ],
    };
    const instanceId = `batch-${batch.batchId}-${Date.now()}`;
    say(`starting FulfilBatch '${instanceId}' with ${batch.lines.length} orders`);
    await runtime.client.start(fulfilBatch, instanceId, batch);
    const result = await runtime.client.result(fulfilBatch, instanceId, 10_000);
    result.fulfilled.forEach((f, i) => say(`  ${f.orderId}: ${f.trackingNumber} from ${f.warehouse} (child ${result.childInstances[i]})`));
    return result;
  } finally {
    await runtime.shutdown();
    await provider.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
