// A store holding instances in every status, for the CLI and dashboard tests: completed, failed
// (after retries), running (waiting for an event, on a long timer), cancelled, a parent with
// children, a continue-as-new chain, one frozen in ContinuedAsNew, and an id that is an XSS probe.
import { Runtime, Client, type OrchestrationContext, type Provider } from "../../src/index.js";

export const XSS_ID = "<img src=x onerror=alert(1)>";

export const IDS = {
  completed: "order-completed",
  failed: "order-failed",
  waiting: "order-waiting",
  timer: "order-timer",
  cancelled: "order-cancelled",
  parent: "batch-parent",
  loop: "loop-chain",
  continued: "continued-frozen",
  xss: XSS_ID,
} as const;

/** The fixture app's orchestrations and activities (also the `verify --module` of the CLI tests). */
export function registerFixtureApp(rt: Runtime): void {
  rt.registerActivity("Charge", async (_ctx, x: { amount: number }) => ({ charged: x.amount }));
  rt.registerActivity("Flaky", async () => {
    throw new Error("card declined");
  });
  rt.registerOrchestration("Order", async (ctx: OrchestrationContext, x: { amount: number }) => {
    ctx.setCustomStatus("charging");
    ctx.setValue("stage", "charge");
    const r = await ctx.scheduleActivity("Charge", x);
    await ctx.scheduleTimer(5);
    ctx.setCustomStatus("done");
    return r;
  });
  rt.registerOrchestration("FailingOrder", async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivityWithRetry("Flaky", { n: 1 }, { maxAttempts: 3, backoff: { kind: "fixed", delayMs: 5 } });
    return "unreachable";
  });
  rt.registerOrchestration("Approval", async (ctx: OrchestrationContext) => {
    ctx.setCustomStatus("waiting for approval");
    ctx.setValue("approver", "alice");
    return await ctx.waitForEvent("approve");
  });
  rt.registerOrchestration("Sleeper", async (ctx: OrchestrationContext) => {
    await ctx.scheduleTimer(3_600_000);
    return "woke";
  });
  rt.registerOrchestration("Leaf", async (ctx: OrchestrationContext, i: number) => await ctx.scheduleActivity("Charge", { amount: i }));
  rt.registerOrchestration("Batch", async (ctx: OrchestrationContext, n: number) => {
    const kids = [];
    for (let i = 0; i < n; i++) kids.push(ctx.scheduleSubOrchestration("Leaf", i));
    return (await ctx.all(kids)).length;
  });
  rt.registerOrchestration("Loop", async (ctx: OrchestrationContext, i: number) => {
    await ctx.scheduleActivity("Charge", { amount: i });
    if (i >= 3) return i;
    return ctx.continueAsNew(i + 1);
  });
  // Continues as new into a version no runtime has, so the instance stays ContinuedAsNew.
  rt.registerOrchestration("Upgrade", async (ctx: OrchestrationContext) => ctx.continueAsNewVersioned({ step: 2 }, "9.0.0"));
}

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`fixture: ${what} not reached`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Fills the store and stops its runtime; the instances stay as described above. */
export async function populate(provider: Provider): Promise<void> {
  const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, logLevel: "error" });
  registerFixtureApp(rt);
  await rt.start();
  const c = new Client(provider);
  try {
    await c.startOrchestration(IDS.completed, "Order", { amount: 42 });
    await c.startOrchestration(IDS.failed, "FailingOrder");
    await c.startOrchestration(IDS.waiting, "Approval");
    await c.startOrchestration(IDS.timer, "Sleeper");
    await c.startOrchestration(IDS.cancelled, "Approval");
    await c.startOrchestration(IDS.parent, "Batch", 3);
    await c.startOrchestration(IDS.loop, "Loop", 1);
    await c.startOrchestration(IDS.continued, "Upgrade");
    await c.startOrchestration(IDS.xss, "Order", { amount: 1 });
    for (const id of [IDS.completed, IDS.failed, IDS.parent, IDS.loop, IDS.xss]) await c.waitForOrchestration(id, 20_000);
    await until("cancellable instance waiting", async () => (await c.getStatus(IDS.cancelled)).customStatus === "waiting for approval");
    await c.cancelInstance(IDS.cancelled, "customer gave up");
    await c.waitForOrchestration(IDS.cancelled, 20_000);
    await until("waiting instance subscribed", async () => (await c.getStatus(IDS.waiting)).customStatus === "waiting for approval");
    await until("timer instance running", async () => (await c.listExecutions(IDS.timer).catch(() => [])).length === 1);
    await until("ContinuedAsNew instance", async () => (await c.getInstanceInfo(IDS.continued).catch(() => null))?.status === "ContinuedAsNew");
  } finally {
    await rt.shutdown(500);
  }
}
