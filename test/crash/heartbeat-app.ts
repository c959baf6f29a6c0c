// The app of the heartbeat kill test: an order whose charge heartbeats, scheduled either plainly
// (a lost attempt is delivered again) or under a retry policy (a lost attempt fails and is retried).
import type { ActivityContext, OrchestrationContext, Runtime } from "../../src/index.js";

export const HEARTBEAT_TIMEOUT_MS = 1_500;

export function registerHeartbeatApp(rt: Runtime, impl: { charge: (ctx: ActivityContext) => Promise<unknown> }): void {
  rt.registerActivity("Charge", (ctx: ActivityContext) => impl.charge(ctx));
  rt.registerOrchestration("Order", async (ctx: OrchestrationContext, mode: "plain" | "retry") =>
    mode === "plain"
      ? ctx.scheduleActivity("Charge", null, { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS })
      : ctx.scheduleActivityWithRetry("Charge", null, { maxAttempts: 3, backoff: "none", heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS }),
  );
}
