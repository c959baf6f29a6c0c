// Chaos workloads: orchestrations covering every durable primitive, their expected outputs, and
// activities that record each attempt in the Journal (the side-effect log).
import type { Runtime } from "../../src/index.js";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import type { OrchestrationHandler } from "../../src/orchestration/handler.js";
import type { ActivityContext } from "../../src/activity/context.js";
import type { Journal, Rng } from "./faulty.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Kind = "Seq" | "GenSeq" | "FanOut" | "Timers" | "Parent" | "Loop" | "Approval" | "Races" | "Retry" | "Queue" | "Session" | "Cancel";
export const KINDS: readonly Kind[] = ["Seq", "GenSeq", "FanOut", "Timers", "Parent", "Loop", "Approval", "Races", "Retry", "Queue", "Session", "Cancel"];

export interface Planned {
  id: string;
  kind: Kind;
  input: unknown;
  expected: unknown;
  /** External event to raise mid-run: after `afterMs`, with `data`. */
  raise?: { name: string; data: unknown; afterMs: number };
  /** Queue messages to enqueue one after another, each after its delay. */
  enqueue?: { queue: string; items: Array<{ data: unknown; afterMs: number }> };
  /** Cancel the instance after `afterMs`; it must then end Failed with this reason. */
  cancel?: { afterMs: number; reason: string };
  /** KV values the instance must hold at the end. */
  kv?: Record<string, string>;
}

const stepValue = (s: unknown): string => `v(${JSON.stringify(s)})`;

/** Orchestrations by name: registered on every runtime and used to replay final histories cold. */
export const ORCHESTRATIONS: Record<string, OrchestrationHandler> = {
  Seq: async (ctx: OrchestrationContext, input: { n: number }) => {
    const out: string[] = [];
    for (let i = 0; i < input.n; i++) out.push(await ctx.scheduleActivity<string>("Step", { i, prev: out.length }));
    return out;
  },
  GenSeq: function* (ctx: OrchestrationContext, input: { n: number }): Generator<unknown, unknown, any> {
    const out: string[] = [];
    for (let i = 0; i < input.n; i++) out.push(yield ctx.scheduleActivity("Step", { g: i }));
    return out;
  },
  FanOut: async (ctx: OrchestrationContext, input: { n: number }) => {
    const rs = await ctx.join(Array.from({ length: input.n }, (_, i) => ctx.scheduleActivity<string>("Step", { f: i })));
    const tail = await ctx.scheduleActivity<string>("Step", { joined: rs.length });
    return [...rs, tail];
  },
  Timers: async (ctx: OrchestrationContext, input: { delays: number[] }) => {
    const out: string[] = [];
    for (const [i, d] of input.delays.entries()) {
      await ctx.scheduleTimer(d);
      out.push(await ctx.scheduleActivity<string>("Step", { t: i }));
    }
    return out;
  },
  Parent: async (ctx: OrchestrationContext, input: { n: number }) => {
    const par = await ctx.join([ctx.scheduleSubOrchestration<string[]>("Seq", { n: input.n }), ctx.scheduleSubOrchestration<string[]>("FanOut", { n: input.n })]);
    const seq = await ctx.scheduleSubOrchestration<string[]>("Timers", { delays: [15] });
    return { par, seq };
  },
  Loop: async (ctx: OrchestrationContext, input: { i: number; n: number; acc: string[] }) => {
    const r = await ctx.scheduleActivity<string>("Step", { loop: input.i });
    if (input.i % 2 === 0) await ctx.scheduleTimer(10);
    const acc = [...input.acc, r];
    if (input.i + 1 < input.n) return ctx.continueAsNew({ i: input.i + 1, n: input.n, acc });
    return acc;
  },
  Approval: async (ctx: OrchestrationContext) => {
    const a = await ctx.scheduleActivity<string>("Step", { before: true });
    ctx.setCustomStatus("waiting");
    const r = await ctx.race(ctx.waitForEvent<string>("go"), ctx.scheduleTimer(120_000));
    if (r.index !== 0) return "timed out";
    const b = await ctx.scheduleActivity<string>("Step", { after: r.value });
    return [a, r.value, b];
  },
  Races: async (ctx: OrchestrationContext) => {
    // An activity that never finishes by itself loses to a short timer and is withdrawn.
    const r1 = await ctx.race(ctx.scheduleActivity("Hang", null), ctx.scheduleTimer(30));
    // A fast activity beats a long timer.
    const r2 = await ctx.race(ctx.scheduleActivity<string>("Step", { race: 2 }), ctx.scheduleTimer(120_000));
    // A child that waits forever loses to a timer and is cancelled.
    const r3 = await ctx.race(ctx.scheduleSubOrchestration("Waiter", null), ctx.scheduleTimer(30));
    return [r1.index, r2.index, r2.value, r3.index];
  },
  // One queue message per execution, continue-as-new between them; duplicates (a client retry whose
  // first enqueue had committed) are skipped. Messages arriving around the continue-as-new must
  // be carried to the next execution, never lost.
  Queue: async (ctx: OrchestrationContext, input: { n: number; got: number[]; out: string[] }) => {
    const m = await ctx.dequeueEvent<{ seq: number }>("jobs");
    let { got, out } = input;
    if (!got.includes(m.seq)) {
      const r = await ctx.scheduleActivity<string>("Step", { q: m.seq });
      got = [...got, m.seq];
      out = [...out, r];
      ctx.setValue("last", String(m.seq));
      ctx.setCustomStatus(`${got.length}/${input.n}`);
    }
    if (got.length < input.n) return ctx.continueAsNew({ n: input.n, got, out });
    return out;
  },
  // Activities pinned to a session: after a kill the session must move to a live worker.
  Session: async (ctx: OrchestrationContext, input: { n: number }) => {
    const sid = `${ctx.instanceId}-session`;
    const out: string[] = [];
    for (let i = 0; i < input.n; i++) out.push(await ctx.scheduleActivityOnSession<string>("Step", { s: i }, sid));
    return out;
  },
  // Cancelled by the client while it waits (with a child waiting too): ends Failed, child cancelled.
  Cancel: async (ctx: OrchestrationContext) => {
    await ctx.scheduleActivity<string>("Step", { beforeCancel: true });
    const child = ctx.scheduleSubOrchestration("Waiter", null);
    await ctx.join([child, ctx.waitForEvent("never")]);
    return "not cancelled";
  },
  Waiter: async (ctx: OrchestrationContext) => ctx.waitForEvent("never"),
  Retry: async (ctx: OrchestrationContext) => {
    const v = await ctx.scheduleActivityWithRetry<string>("Flaky", null, { maxAttempts: 5, backoff: { kind: "fixed", delayMs: 10 } });
    const after = await ctx.scheduleActivity<string>("Step", { afterRetry: true });
    return [v, after];
  },
};

/** Attempt ids per instance for Flaky (fails on the first two distinct activity ids). */
const flakySeen = new Map<string, Set<number>>();

export function registerAll(rt: Runtime, journal: Journal, stepMs = 15): void {
  for (const [name, h] of Object.entries(ORCHESTRATIONS)) rt.registerOrchestration(name, h);
  rt.registerActivity("Step", async (ctx: ActivityContext, input: unknown) => {
    journal.started(ctx.instanceId, ctx.executionId, ctx.activityId, ctx.workerId);
    await sleep(Math.floor(Math.random() * stepMs));
    return stepValue(input);
  });
  rt.registerActivity("Hang", async (ctx: ActivityContext) => {
    journal.started(ctx.instanceId, ctx.executionId, ctx.activityId, ctx.workerId);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 30_000);
      t.unref();
      ctx.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
    return "hang finished";
  });
  rt.registerActivity("Flaky", async (ctx: ActivityContext) => {
    journal.started(ctx.instanceId, ctx.executionId, ctx.activityId, ctx.workerId);
    let seen = flakySeen.get(ctx.instanceId);
    if (!seen) flakySeen.set(ctx.instanceId, (seen = new Set()));
    seen.add(ctx.activityId);
    const rank = [...seen].sort((a, b) => a - b).indexOf(ctx.activityId);
    if (rank < 2) throw new Error(`flaky attempt ${rank + 1} fails`);
    return `flaky ok on attempt ${rank + 1}`;
  });
}

export function plan(rng: Rng, prefix: string, count: number): Planned[] {
  const out: Planned[] = [];
  for (let k = 0; k < count; k++) {
    const kind = KINDS[k % KINDS.length]!;
    const id = `${prefix}-${kind}-${k}`;
    switch (kind) {
      case "Seq": {
        const n = rng.int(2, 5);
        out.push({ id, kind, input: { n }, expected: Array.from({ length: n }, (_, i) => stepValue({ i, prev: i })) });
        break;
      }
      case "GenSeq": {
        const n = rng.int(2, 4);
        out.push({ id, kind, input: { n }, expected: Array.from({ length: n }, (_, i) => stepValue({ g: i })) });
        break;
      }
      case "FanOut": {
        const n = rng.int(3, 8);
        out.push({ id, kind, input: { n }, expected: [...Array.from({ length: n }, (_, i) => stepValue({ f: i })), stepValue({ joined: n })] });
        break;
      }
      case "Timers": {
        const delays = Array.from({ length: rng.int(1, 3) }, () => rng.int(5, 120));
        out.push({ id, kind, input: { delays }, expected: delays.map((_, i) => stepValue({ t: i })) });
        break;
      }
      case "Parent": {
        const n = rng.int(2, 3);
        out.push({
          id,
          kind,
          input: { n },
          expected: {
            par: [
              Array.from({ length: n }, (_, i) => stepValue({ i, prev: i })),
              [...Array.from({ length: n }, (_, i) => stepValue({ f: i })), stepValue({ joined: n })],
            ],
            seq: [stepValue({ t: 0 })],
          },
        });
        break;
      }
      case "Loop": {
        const n = rng.int(2, 5);
        out.push({ id, kind, input: { i: 0, n, acc: [] }, expected: Array.from({ length: n }, (_, i) => stepValue({ loop: i })) });
        break;
      }
      case "Approval": {
        const data = `ok-${k}`;
        out.push({ id, kind, input: null, expected: [stepValue({ before: true }), data, stepValue({ after: data })], raise: { name: "go", data, afterMs: rng.int(0, 400) } });
        break;
      }
      case "Races":
        out.push({ id, kind, input: null, expected: [1, 0, stepValue({ race: 2 }), 1] });
        break;
      case "Retry":
        out.push({ id, kind, input: null, expected: ["flaky ok on attempt 3", stepValue({ afterRetry: true })] });
        break;
      case "Session": {
        const n = rng.int(2, 4);
        out.push({ id, kind, input: { n }, expected: Array.from({ length: n }, (_, i) => stepValue({ s: i })) });
        break;
      }
      case "Cancel":
        out.push({ id, kind, input: null, expected: null, cancel: { afterMs: rng.int(0, 400), reason: `stop-${k}` } });
        break;
      case "Queue": {
        const n = rng.int(2, 5);
        out.push({
          id,
          kind,
          input: { n, got: [], out: [] },
          expected: Array.from({ length: n }, (_, i) => stepValue({ q: i })),
          enqueue: { queue: "jobs", items: Array.from({ length: n }, (_, i) => ({ data: { seq: i }, afterMs: rng.int(0, 150) })) },
          kv: { last: String(n - 1) },
        });
        break;
      }
    }
  }
  return out;
}
