// The application of the PostgreSQL outage tests: slow activities (so lock renewals and acks are
// in flight when the server goes away), each run journalled as one line of a side-effect log.
// (No tests here; under dist/test `node --test` loads it as a no-op module.)
import { appendFileSync } from "node:fs";
import type { OrchestrationContext, Runtime, RuntimeOptions } from "../../src/index.js";

/**
 * A 15 s activity lock, renewed every 5 s: step "b" runs for 6 s, so renewals are in flight, and
 * an outage of a few seconds stays within the lock (results computed meanwhile must be kept).
 */
export const OUTAGE_RUNTIME_OPTIONS: RuntimeOptions = {
  orchestrationConcurrency: 4,
  workerConcurrency: 8,
  dispatcherPollIntervalMs: 50,
  orchestratorLockTimeoutMs: 2_000,
  workerLockTimeoutMs: 15_000,
  logLevel: "error",
};

export const STEPS = ["a", "b", "c", "d"] as const;
/** Run time of each step, in multiples of the instance's input `ms`. */
const STEP_LENGTH: Record<string, number> = { a: 1, b: 5, c: 1, d: 1 };

export interface SlowInput {
  instance: string;
  step: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function register(rt: Runtime, logPath: string): void {
  rt.registerActivity("Slow", async (_ctx, input: SlowInput) => {
    await sleep(input.ms);
    appendFileSync(logPath, `${input.instance}:${input.step} ${process.pid} ${Date.now()}\n`);
    return `${input.step}@${input.instance}`;
  });
  rt.registerOrchestration("Chain", async (ctx: OrchestrationContext, input: { ms: number }) => {
    const out: string[] = [];
    for (const step of STEPS) {
      out.push(await ctx.scheduleActivity<string>("Slow", { instance: ctx.instanceId, step, ms: input.ms * (STEP_LENGTH[step] ?? 1) } satisfies SlowInput));
    }
    return out;
  });
}
