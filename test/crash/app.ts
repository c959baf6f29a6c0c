// The application both the crash child and the resuming parent register: same names, same code.
// (This file holds no tests; under dist/test it is loaded by `node --test` as a no-op module.)
import { appendFileSync } from "node:fs";
import type { HistoryEvent, OrchestrationContext, Runtime, RuntimeOptions } from "../../src/index.js";

/** Short locks, so work locked by the killed process is taken over about a second later. */
export const CRASH_RUNTIME_OPTIONS: RuntimeOptions = {
  orchestrationConcurrency: 4,
  workerConcurrency: 8,
  dispatcherPollIntervalMs: 20,
  orchestratorLockTimeoutMs: 1_000,
  workerLockTimeoutMs: 1_000,
  logLevel: "error",
};

/** Pipeline: two steps, a durable timer, a fan-out of three, two more steps. */
export const PIPELINE_STEPS = ["s1", "s2", "f0", "f1", "f2", "s4", "s5"] as const;
export const PIPELINE_TIMER_MS = 300;
/** Sequence: this many activities one after another (each completion stored with its turn). */
export const SEQUENCE_STEPS = 30;
export const SLEEPER_TIMER_MS = 2_000;

export interface StepInput {
  instance: string;
  step: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function expectedPipelineOutput(instance: string): string[] {
  return PIPELINE_STEPS.map((s) => `${s}@${instance}`);
}

export function register(rt: Runtime, logPath: string): void {
  // Each run of a step appends one line: the side effect whose count the test checks. The pause
  // after the append widens the window in which a kill finds a step done but not yet recorded.
  rt.registerActivity("Step", async (_ctx, input: StepInput) => {
    await sleep(40 + (input.step.charCodeAt(input.step.length - 1) % 5) * 10);
    appendFileSync(logPath, `${input.instance}:${input.step}\n`);
    await sleep(30);
    return `${input.step}@${input.instance}`;
  });

  rt.registerOrchestration("Pipeline", async (ctx: OrchestrationContext) => {
    const id = ctx.instanceId;
    const step = (s: string) => ctx.scheduleActivity<string>("Step", { instance: id, step: s } satisfies StepInput);
    const out: string[] = [];
    out.push(await step("s1"));
    out.push(await step("s2"));
    await ctx.scheduleTimer(PIPELINE_TIMER_MS);
    out.push(...(await ctx.join<string>([step("f0"), step("f1"), step("f2")])));
    out.push(await step("s4"));
    out.push(await step("s5"));
    return out;
  });

  rt.registerOrchestration("Sequence", async (ctx: OrchestrationContext) => {
    const id = ctx.instanceId;
    const out: string[] = [];
    for (let i = 0; i < SEQUENCE_STEPS; i++) out.push(await ctx.scheduleActivity<string>("Step", { instance: id, step: `q${i}` } satisfies StepInput));
    return out;
  });

  rt.registerOrchestration("Sleeper", async (ctx: OrchestrationContext) => {
    const id = ctx.instanceId;
    const a = await ctx.scheduleActivity<string>("Step", { instance: id, step: "a" } satisfies StepInput);
    await ctx.scheduleTimer(SLEEPER_TIMER_MS);
    const b = await ctx.scheduleActivity<string>("Step", { instance: id, step: "b" } satisfies StepInput);
    return [a, b];
  });
}

/** Steps whose ActivityCompleted is in `history` (matched to their ActivityScheduled input). */
export function completedSteps(history: HistoryEvent[]): string[] {
  const scheduled = new Map<number, string>();
  for (const e of history) {
    if (e.type === "ActivityScheduled") scheduled.set(e.eventId, (JSON.parse(e.input) as StepInput).step);
  }
  const out: string[] = [];
  for (const e of history) {
    if (e.type === "ActivityCompleted") {
      const s = e.sourceEventId === null ? undefined : scheduled.get(e.sourceEventId);
      if (s === undefined) throw new Error(`ActivityCompleted ${e.eventId} has no matching ActivityScheduled`);
      out.push(s);
    }
  }
  return out;
}
