// Human in the loop: wait for an approval event, or give up when a durable timer fires first.
//
// The orchestration races `ctx.waitForEvent("Approval")` against `ctx.scheduleTimer(timeout)`.
// Whichever completes first (in history order) wins; the loser is cancelled. Both the wait and the
// timer are durable: a process restart while waiting loses neither. This example runs two
// requests: one a manager approves via `client.raiseEvent`, one nobody answers, so it times out.
//
//   npm run build && node dist/examples/human-in-the-loop.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface ExpenseRequest {
  requestId: string;
  requester: string;
  amount: number;
  /** How long to wait for a decision. Days in real life; short here so the example is quick. */
  timeoutMs: number;
}
interface Approval {
  approver: string;
  approved: boolean;
  comment?: string;
}
export interface ApprovalOutcome {
  requestId: string;
  outcome: "approved" | "rejected" | "escalated";
  decidedBy: string;
}

async function submitForApproval(_ctx: ActivityContext, req: ExpenseRequest): Promise<string> {
  await sleep(10); // e.g. post a message to the approvers' channel, keyed by requestId
  return `ticket-${req.requestId}`;
}
async function recordDecision(_ctx: ActivityContext, d: { ticket: string; approval: Approval }): Promise<void> {
  await sleep(10); // e.g. update the ticket; setting the same state twice is harmless
}
async function escalate(_ctx: ActivityContext, d: { ticket: string; requester: string }): Promise<string> {
  await sleep(10); // e.g. page the requester's director
  return `escalated ${d.ticket} to the director of ${d.requester}`;
}

async function expenseApproval(ctx: OrchestrationContext, req: ExpenseRequest): Promise<ApprovalOutcome> {
  const ticket = await ctx.scheduleActivity<string>("SubmitForApproval", req);
  ctx.setCustomStatus(`waiting for approval (${ticket})`);
  ctx.traceInfo(`${req.requestId}: waiting up to ${req.timeoutMs} ms for an Approval event`);

  const winner = await ctx.race<Approval | null>(ctx.waitForEvent<Approval>("Approval"), ctx.scheduleTimer(req.timeoutMs));

  if (winner.index === 0) {
    const approval = winner.value as Approval;
    await ctx.scheduleActivity("RecordDecision", { ticket, approval });
    ctx.setCustomStatus(approval.approved ? "approved" : "rejected");
    return { requestId: req.requestId, outcome: approval.approved ? "approved" : "rejected", decidedBy: approval.approver };
  }
  ctx.traceWarn(`${req.requestId}: no decision in time, escalating`);
  await ctx.scheduleActivity("Escalate", { ticket, requester: req.requester });
  ctx.setCustomStatus("escalated");
  return { requestId: req.requestId, outcome: "escalated", decidedBy: "timeout" };
}

export interface HumanInTheLoopResult {
  approved: ApprovalOutcome;
  timedOut: ApprovalOutcome;
}

export async function main(opts: ExampleOptions = {}): Promise<HumanInTheLoopResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("SubmitForApproval", submitForApproval);
  runtime.registerActivity("RecordDecision", recordDecision);
  runtime.registerActivity("Escalate", escalate);
  runtime.registerOrchestration("ExpenseApproval", expenseApproval);
  await runtime.start();
  const client = runtime.client;
  try {
    const run = Date.now();

    // 1) The approved path: a manager answers before the deadline.
    const a = `expense-a-${run}`;
    say(`[${a}] submitted: 120.00 by bob, deadline 10 s`);
    await client.startOrchestration(a, "ExpenseApproval", { requestId: "A", requester: "bob", amount: 120, timeoutMs: 10_000 });
    // Wait until the orchestration says it is waiting (its custom status changes), then approve.
    // (Raising earlier would be fine too: events raised before the wait are kept for it.)
    const waiting = await client.waitForStatusChange(a, 0, 20, 10_000);
    say(`[${a}] status: ${waiting.customStatus}`);
    say(`[${a}] alice approves → client.raiseEvent("${a}", "Approval", {...})`);
    await client.raiseEvent(a, "Approval", { approver: "alice", approved: true, comment: "ok for the offsite" });
    const approved = await client.waitForOrchestrationTyped<ApprovalOutcome>(a, 10_000);
    say(`[${a}] outcome: ${approved.outcome} by ${approved.decidedBy}`);

    // 2) The timeout path: nobody answers, the durable timer wins the race.
    const b = `expense-b-${run}`;
    say(`[${b}] submitted: 4999.00 by carol, deadline 300 ms; nobody answers`);
    await client.startOrchestration(b, "ExpenseApproval", { requestId: "B", requester: "carol", amount: 4999, timeoutMs: 300 });
    const timedOut = await client.waitForOrchestrationTyped<ApprovalOutcome>(b, 10_000);
    say(`[${b}] outcome: ${timedOut.outcome} (${timedOut.decidedBy})`);

    return { approved, timedOut };
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
