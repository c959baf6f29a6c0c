// Payments: failure semantics you can build on.
//
// 1. A declined card is a permanent failure: the activity throws NonRetryableError with a code
//    and JSON details, the retry policy stops after one attempt, and the orchestration tells the
//    decline from a network error by `code`, not by matching message strings.
// 2. A long export heartbeats its progress. Its first attempt hangs (stops heartbeating); within
//    heartbeatTimeoutMs the attempt is treated as lost, the retry policy starts the next attempt,
//    and that attempt resumes from the last heartbeat instead of starting over. The hung attempt's
//    late result is fenced: it can never be recorded over the retry.
// 3. A one-line fix shipped with ctx.patched: an order that already went through the buggy step
//    keeps its recorded path on replay; new orders take the fix. No copied version needed.
//
//   npm run build && node dist/examples/payments.js
import { pathToFileURL } from "node:url";
import {
  ActivityFailedError,
  NonRetryableError,
  Runtime,
  type ActivityContext,
  type OrchestrationContext,
} from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

export interface PaymentsExampleResult {
  declined: { code: string; details: unknown; attempts: number };
  charged: string;
  export: { rows: number; attempts: number; resumedFrom: number; lateResultRecorded: boolean };
  patch: { oldOrder: number; newOrder: number };
}

function registerPayments(rt: Runtime, counters: { chargeCalls: number }): void {
  rt.registerActivity("ChargeCard", async (_ctx: ActivityContext, p: { card: string; amount: number }) => {
    counters.chargeCalls++;
    await sleep(5);
    if (p.card.endsWith("0002"))
      throw new NonRetryableError("card declined", { code: "card_declined", details: { reason: "insufficient_funds", amount: p.amount } });
    return `charged ${p.amount} to ${p.card}`;
  });
  rt.registerOrchestration("Pay", async (ctx: OrchestrationContext, p: { card: string; amount: number }) => {
    try {
      return { ok: await ctx.scheduleActivityWithRetry<string>("ChargeCard", p, { maxAttempts: 4, backoff: "fixed" }) };
    } catch (e) {
      if (e instanceof ActivityFailedError && e.code === "card_declined") {
        ctx.traceInfo(`declined on attempt ${e.attempt}: ${JSON.stringify(e.details)}`);
        return { declined: { code: e.code, details: e.details, attempt: e.attempt } };
      }
      throw e; // anything else fails the payment
    }
  });
}

function registerExport(rt: Runtime, log: { starts: Array<{ from: number }>; lateReturned: boolean }): void {
  rt.registerActivity("ExportLedger", async (ctx: ActivityContext, rows: number) => {
    const from = ctx.lastHeartbeatDetails<{ row: number }>()?.row ?? 0;
    log.starts.push({ from });
    for (let row = from + 1; row <= rows; row++) {
      await sleep(10);
      if (log.starts.length === 1 && row === 8) {
        // The first attempt hangs here: no more heartbeats. It comes back much later.
        await sleep(1_000);
        log.lateReturned = true;
        return "late result of the hung attempt";
      }
      ctx.heartbeat({ row });
    }
    return `exported ${rows} rows (this attempt started at row ${from + 1})`;
  });
  rt.registerOrchestration("Export", (ctx: OrchestrationContext, rows: number) =>
    ctx.scheduleActivityWithRetry<string>("ExportLedger", rows, { maxAttempts: 3, backoff: "none", heartbeatTimeoutMs: 300 }),
  );
}

/** Checkout before the fix (tax on the discounted price was applied twice) and after it. */
function registerCheckout(rt: Runtime, fixed: boolean): void {
  rt.registerActivity("PriceBuggy", async (_ctx: ActivityContext, cents: number) => Math.round(cents * 1.2 * 1.2));
  rt.registerActivity("PriceFixed", async (_ctx: ActivityContext, cents: number) => Math.round(cents * 1.2));
  rt.registerOrchestration("Checkout", async (ctx: OrchestrationContext, cents: number) => {
    const total =
      fixed && ctx.patched("tax-once")
        ? await ctx.scheduleActivity<number>("PriceFixed", cents)
        : await ctx.scheduleActivity<number>("PriceBuggy", cents);
    await ctx.waitForEvent("confirm");
    return total;
  });
}

export async function main(opts: ExampleOptions = {}): Promise<PaymentsExampleResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const counters = { chargeCalls: 0 };
  const exportLog = { starts: [] as Array<{ from: number }>, lateReturned: false };
  const stamp = Date.now();

  // Code as it was before the checkout fix.
  let runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  registerPayments(runtime, counters);
  registerExport(runtime, exportLog);
  registerCheckout(runtime, false);
  await runtime.start();
  try {
    const client = runtime.client;

    // 1. A decline is not retried.
    say("[pay] charging a card that will be declined");
    await client.startOrchestration(`pay-declined-${stamp}`, "Pay", { card: "4000-0000-0000-0002", amount: 4_200 });
    const declined = await client.waitForOrchestrationTyped<{ declined: { code: string; details: unknown; attempt: number } }>(
      `pay-declined-${stamp}`,
      10_000,
    );
    const declineCalls = counters.chargeCalls;
    say(`[pay] declined (${declined.declined.code}, ${JSON.stringify(declined.declined.details)}) after ${declineCalls} attempt`);
    await client.startOrchestration(`pay-ok-${stamp}`, "Pay", { card: "4242-4242-4242-4242", amount: 1_999 });
    const charged = await client.waitForOrchestrationTyped<{ ok: string }>(`pay-ok-${stamp}`, 10_000);
    say(`[pay] ${charged.ok}`);

    // 2. A long activity that heartbeats; its first attempt hangs and is replaced.
    say("[export] exporting 20 rows; the first attempt will hang at row 8");
    await client.startOrchestration(`export-${stamp}`, "Export", 20);
    const exported = await client.waitForOrchestrationTyped<string>(`export-${stamp}`, 10_000);
    say(`[export] ${exported}`);
    while (!exportLog.lateReturned) await sleep(20);
    await sleep(100);
    const history = await client.readHistory(`export-${stamp}`);
    const lateResultRecorded = history.some(
      (e) => e.type === "ActivityCompleted" && e.result.includes("late result of the hung attempt"),
    );
    say(`[export] the hung attempt came back late; its result recorded: ${lateResultRecorded}`);

    // 3. An order goes through the buggy pricing step, then the fix ships.
    await client.startOrchestration(`order-old-${stamp}`, "Checkout", 10_000);
    while (!(await client.readHistory(`order-old-${stamp}`)).some((e) => e.type === "ExternalSubscribed")) await sleep(10);
    say("[checkout] an order priced by the buggy step waits for confirmation; deploying the fix");
    await runtime.shutdown();
    runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
    registerPayments(runtime, counters);
    registerExport(runtime, exportLog);
    registerCheckout(runtime, true);
    await runtime.start();
    await runtime.client.startOrchestration(`order-new-${stamp}`, "Checkout", 10_000);
    await runtime.client.raiseEvent(`order-old-${stamp}`, "confirm", null);
    await runtime.client.raiseEvent(`order-new-${stamp}`, "confirm", null);
    const oldOrder = await runtime.client.waitForOrchestrationTyped<number>(`order-old-${stamp}`, 10_000);
    const newOrder = await runtime.client.waitForOrchestrationTyped<number>(`order-new-${stamp}`, 10_000);
    say(`[checkout] old order keeps its recorded total ${oldOrder}; new order totals ${newOrder}`);

    return {
      declined: { code: declined.declined.code, details: declined.declined.details, attempts: declineCalls },
      charged: charged.ok,
      export: {
        rows: 20,
        attempts: exportLog.starts.length,
        resumedFrom: exportLog.starts[1]?.from ?? 0,
        lateResultRecorded,
      },
      patch: { oldOrder, newOrder },
    };
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
