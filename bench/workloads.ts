// Benchmark workloads. Each gets a fresh store and a fresh runtime, and reports one result object.
import { performance } from "node:perf_hooks";
import type { Client, OrchestrationContext, Provider, Runtime } from "../src/index.js";
import { CompletionTracker, type Done } from "./tracker.js";
import { round, summarize } from "./stats.js";

export interface WorkloadEnv {
  runtime: Runtime;
  client: Client;
  provider: Provider;
}

export interface WorkloadResult {
  orchestrations: number;
  activities: number;
  durationMs: number;
  latenciesMs: number[];
  extra?: Record<string, unknown>;
}

export interface Workload {
  name: string;
  register(rt: Runtime): void;
  run(env: WorkloadEnv): Promise<WorkloadResult>;
}

function registerCommon(rt: Runtime): void {
  rt.registerActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);
  rt.registerActivity("Step", async (_ctx, i: number) => i + 1);
}

async function assertCompleted(dones: Done[], check?: (d: Done, i: number) => void): Promise<void> {
  dones.forEach((d, i) => {
    if (d.status.status !== "Completed") throw new Error(`instance ${i} ended ${d.status.status}: ${d.status.error ?? ""}`);
    check?.(d, i);
  });
}

/** Start `n` instances back to back and wait for them all; latency = start call to observed completion. */
async function startMany(env: WorkloadEnv, prefix: string, n: number, name: string, input: (i: number) => unknown, afterStart?: (id: string) => Promise<void>) {
  const tracker = new CompletionTracker(env.provider, env.client);
  try {
    const t0 = performance.now();
    const waits: Promise<Done>[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${prefix}-${i}`;
      const started = performance.now();
      waits.push(tracker.track(id, started));
      await env.client.startOrchestration(id, name, input(i));
      if (afterStart) await afterStart(id);
    }
    const dones = await Promise.all(waits);
    const t1 = performance.now();
    return { dones, durationMs: t1 - t0 };
  } finally {
    tracker.close();
  }
}

const latencies = (dones: Done[]) => dones.map((d) => d.completedAt - d.startedAt);

export const hello: Workload = {
  name: "hello",
  register(rt) {
    registerCommon(rt);
    rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => ctx.scheduleActivity("Greet", name));
  },
  async run(env) {
    const n = 500;
    const { dones, durationMs } = await startMany(env, "hello", n, "Hello", (i) => `w${i}`);
    await assertCompleted(dones, (d, i) => {
      if (d.status.output !== `Hello, w${i}!`) throw new Error(`bad output ${JSON.stringify(d.status.output)}`);
    });
    return { orchestrations: n, activities: n, durationMs, latenciesMs: latencies(dones) };
  },
};

export const fanout: Workload = {
  name: "fanout",
  register(rt) {
    registerCommon(rt);
    rt.registerOrchestration("FanOut", async (ctx: OrchestrationContext, width: number) => {
      const tasks = [];
      for (let i = 0; i < width; i++) tasks.push(ctx.scheduleActivity<number>("Step", i));
      const rs = await ctx.all<number>(tasks);
      return rs.reduce((s, r) => s + (r.ok ?? 0), 0);
    });
  },
  async run(env) {
    const n = 50;
    const width = 20;
    const { dones, durationMs } = await startMany(env, "fan", n, "FanOut", () => width);
    const expected = (width * (width + 1)) / 2;
    await assertCompleted(dones, (d) => {
      if (d.status.output !== expected) throw new Error(`bad output ${JSON.stringify(d.status.output)}`);
    });
    return { orchestrations: n, activities: n * width, durationMs, latenciesMs: latencies(dones), extra: { width } };
  },
};

export function sequential(steps: number): Workload {
  return {
    name: `sequential${steps}`,
    register(rt) {
      registerCommon(rt);
      rt.registerOrchestration("Seq", async (ctx: OrchestrationContext, k: number) => {
        let v = 0;
        for (let i = 0; i < k; i++) v = await ctx.scheduleActivity<number>("Step", v);
        return v;
      });
    },
    async run(env) {
      const { dones, durationMs } = await startMany(env, `seq${steps}`, 1, "Seq", () => steps);
      await assertCompleted(dones, (d) => {
        if (d.status.output !== steps) throw new Error(`bad output ${JSON.stringify(d.status.output)}`);
      });
      return {
        orchestrations: 1,
        activities: steps,
        durationMs,
        latenciesMs: latencies(dones),
        extra: { msPerStep: round(durationMs / steps, 3) },
      };
    },
  };
}
export const sequential200 = sequential(200);
export const sequential1000 = sequential(1000);

export const timers: Workload = {
  name: "timers",
  register(rt) {
    registerCommon(rt);
    rt.registerOrchestration("Sleep", async (ctx: OrchestrationContext, ms: number) => {
      await ctx.scheduleTimer(ms);
      return "woke";
    });
  },
  async run(env) {
    const n = 200;
    const delay = 100;
    const { dones, durationMs } = await startMany(env, "tmr", n, "Sleep", () => delay);
    await assertCompleted(dones);
    // Fire lateness: when the turn that consumed TimerFired ran, relative to the timer's due time.
    const fire: number[] = [];
    for (let i = 0; i < n; i++) {
      const h = await env.client.readHistory(`tmr-${i}`);
      const f = h.find((e) => e.type === "TimerFired");
      if (f && f.type === "TimerFired") fire.push(f.timestampMs - f.fireAtMs);
    }
    const completionLate = latencies(dones).map((l) => l - delay);
    const fl = summarize(fire);
    const cl = summarize(completionLate);
    return {
      orchestrations: n,
      activities: 0,
      durationMs,
      latenciesMs: latencies(dones),
      extra: {
        timerMs: delay,
        fireLatenessP50Ms: fl.p50,
        fireLatenessP99Ms: fl.p99,
        fireLatenessMaxMs: fl.max,
        completionLatenessP50Ms: cl.p50,
        completionLatenessP99Ms: cl.p99,
      },
    };
  },
};

export const events: Workload = {
  name: "events",
  register(rt) {
    registerCommon(rt);
    rt.registerOrchestration("WaitGo", async (ctx: OrchestrationContext) => {
      const v = await ctx.waitForEvent<number>("go");
      return v;
    });
  },
  async run(env) {
    const n = 200;
    let k = 0;
    const { dones, durationMs } = await startMany(env, "evt", n, "WaitGo", () => null, async (id) => {
      await env.client.raiseEvent(id, "go", k++);
    });
    await assertCompleted(dones, (d, i) => {
      if (d.status.output !== i) throw new Error(`bad output ${JSON.stringify(d.status.output)}`);
    });
    return { orchestrations: n, activities: 0, durationMs, latenciesMs: latencies(dones) };
  },
};

const mb = (bytes: number): number => round(bytes / (1024 * 1024), 1);

/**
 * `n` instances each waiting for an external event at once: how much memory the runtime holds
 * for them (RSS and heap once every one is waiting; after a full GC too with node --expose-gc),
 * then every event is raised and each must complete with its value. Latency: raise to completion.
 */
export function waiting(n: number): Workload {
  return {
    name: n % 1000 === 0 ? `waiting${n / 1000}k` : `waiting${n}`,
    register(rt) {
      registerCommon(rt);
      rt.registerOrchestration("WaitGo", async (ctx: OrchestrationContext) => ctx.waitForEvent<number>("go"));
    },
    async run(env) {
      const ids = Array.from({ length: n }, (_, i) => `wait-${i}`);
      // Completions from status-changing acks (the only one WaitGo makes is its end): one
      // subscription and a number per instance, so the harness itself holds little per instance.
      const raisedAt = new Float64Array(n);
      const latency = new Float64Array(n);
      let completed = 0;
      let allDone: () => void = () => undefined;
      const done = new Promise<void>((r) => (allDone = r));
      const unsubscribe = env.provider.subscribe((note) => {
        if (note.kind !== "instanceChanged" || (note.changes !== undefined && !note.changes.status)) return;
        const i = Number(note.instance.slice("wait-".length));
        if (raisedAt[i]! > 0 && latency[i] === 0) {
          latency[i] = performance.now() - raisedAt[i]!;
          if (++completed === n) allDone();
        }
      });
      const inBatches = async (f: (i: number) => Promise<unknown>): Promise<void> => {
        const width = 64;
        for (let b = 0; b < n; b += width) await Promise.all(ids.slice(b, b + width).map((_, j) => f(b + j)));
      };
      try {
        const t0 = performance.now();
        await inBatches((i) => env.client.startOrchestration(ids[i]!, "WaitGo", null));
        const startedMs = performance.now() - t0;
        // Every first turn acked (the orchestrator queue is empty): all n are waiting.
        while ((await env.client.getQueueDepths()).orchestratorQueue > 0) await new Promise((r) => setTimeout(r, 100));
        const allWaitingMs = performance.now() - t0;
        const atWait = process.memoryUsage();
        global.gc?.();
        const afterGc = global.gc ? process.memoryUsage() : null;
        const t1 = performance.now();
        await inBatches((i) => {
          raisedAt[i] = performance.now();
          return env.client.raiseEvent(ids[i]!, "go", i);
        });
        const raisedMs = performance.now() - t1;
        // A missed notification would stall here: count the completed instances every 2 s too.
        const sweep = setInterval(() => {
          void env.client.listInstancesByStatus("Completed").then((c) => {
            if (c.length === n) allDone();
          });
        }, 2_000);
        await done.finally(() => clearInterval(sweep));
        const durationMs = performance.now() - t1;
        const finished = await env.client.listInstancesByStatus("Completed");
        if (finished.length !== n) throw new Error(`${finished.length} of ${n} completed`);
        for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 100))) {
          const s = await env.client.getStatus(ids[i]!);
          if (s.output !== JSON.stringify(i)) throw new Error(`${ids[i]} output ${JSON.stringify(s.output)}`);
        }
        return {
          orchestrations: n,
          activities: 0,
          durationMs,
          latenciesMs: Array.from(latency).filter((l) => l > 0),
          extra: {
            startMs: round(startedMs, 1),
            allWaitingMs: round(allWaitingMs, 1),
            raiseMs: round(raisedMs, 1),
            rssWaitingMb: mb(atWait.rss),
            heapUsedWaitingMb: mb(atWait.heapUsed),
            heapTotalWaitingMb: mb(atWait.heapTotal),
            externalWaitingMb: mb(atWait.external),
            ...(afterGc ? { rssWaitingAfterGcMb: mb(afterGc.rss), heapUsedWaitingAfterGcMb: mb(afterGc.heapUsed) } : {}),
          },
        };
      } finally {
        unsubscribe();
      }
    },
  };
}

export const single: Workload = {
  name: "single",
  register(rt) {
    registerCommon(rt);
    rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => ctx.scheduleActivity("Greet", name));
  },
  async run(env) {
    const n = 200;
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const id = `one-${i}`;
      const s = performance.now();
      await env.client.startOrchestration(id, "Hello", `s${i}`);
      const r = await env.client.waitForOrchestration(id, 10_000);
      lat.push(performance.now() - s);
      if (r.status !== "Completed" || r.output !== `Hello, s${i}!`) throw new Error(`single ${i}: ${JSON.stringify(r)}`);
    }
    return { orchestrations: n, activities: n, durationMs: performance.now() - t0, latenciesMs: lat };
  },
};

export const ALL: Workload[] = [hello, fanout, sequential200, sequential1000, timers, events, single];
