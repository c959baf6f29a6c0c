// The soak workload: per instance two steps, a durable timer, a fan-out of three, a last step.
// Every activity attempt journals "S <instance>:<step> <pid> <ms>" when it starts and
// "D ..." when it returns, so the soak can tell re-runs of recorded work from at-least-once
// re-runs of work in flight. (No tests here; `node --test` loads it as a no-op module.)
import { appendFileSync } from "node:fs";
import type { OrchestrationContext, Runtime, RuntimeOptions } from "../../src/index.js";

export const SOAK_RUNTIME_OPTIONS: RuntimeOptions = {
  orchestrationConcurrency: 8,
  workerConcurrency: 8,
  dispatcherPollIntervalMs: 50,
  orchestratorLockTimeoutMs: 5_000,
  workerLockTimeoutMs: 5_000,
  logLevel: "error",
};

export const SOAK_STEPS = ["s1", "s2", "f0", "f1", "f2", "s3"] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerSoak(rt: Runtime, log: string): void {
  rt.registerActivity("Step", async (ctx, step: string) => {
    const key = `${ctx.instanceId}:${step}`;
    appendFileSync(log, `S ${key} ${process.pid} ${Date.now()}\n`);
    await sleep(30 + Math.floor(Math.random() * 60));
    appendFileSync(log, `D ${key} ${process.pid} ${Date.now()}\n`);
    return key;
  });
  rt.registerOrchestration("Soak", async (ctx: OrchestrationContext) => {
    const step = (s: string) => ctx.scheduleActivity<string>("Step", s);
    const out: string[] = [await step("s1"), await step("s2")];
    await ctx.scheduleTimer(200);
    out.push(...(await ctx.join<string>([step("f0"), step("f1"), step("f2")])));
    out.push(await step("s3"));
    return out;
  });
}
