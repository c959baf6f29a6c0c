// Metrics through the OpenTelemetry Meter API (real SDK, in-memory exporter): duroxide's counters
// and histograms with exact values, queue-depth and in-flight gauges read at collection, lock-renewal
// failures, service attributes; the MetricsSink and metricsSnapshot() keep working alongside.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DataPointType, type MetricData } from "@opentelemetry/sdk-metrics";
import { ProviderError, Runtime, SqliteProvider, type MetricsSink, type OrchestrationContext, type Provider } from "../../src/index.js";
import { setupOtel } from "./otel.js";

function metric(all: MetricData[], name: string): MetricData {
  const m = all.find((x) => x.descriptor.name === name);
  assert.ok(m, `metric ${name} exported (have: ${all.map((x) => x.descriptor.name).join(", ")})`);
  return m;
}

/** Sum of a counter's points whose attributes include `where`. */
function sum(all: MetricData[], name: string, where: Record<string, string> = {}): number {
  const m = metric(all, name);
  assert.equal(m.dataPointType, DataPointType.SUM);
  let total = 0;
  for (const p of m.dataPoints) {
    if (Object.entries(where).every(([k, v]) => p.attributes[k] === v)) total += p.value as number;
  }
  return total;
}

function histogramCount(all: MetricData[], name: string): number {
  const m = metric(all, name);
  assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
  let n = 0;
  for (const p of m.dataPoints) n += (p.value as { count: number }).count;
  return n;
}

function gauge(all: MetricData[], name: string): number[] {
  const m = metric(all, name);
  assert.equal(m.dataPointType, DataPointType.GAUGE);
  return m.dataPoints.map((p) => p.value as number);
}

describe("telemetry: metrics", () => {
  it("exports duroxide's counters and histograms with exact values and service attributes", async () => {
    const otel = setupOtel();
    const seen: string[] = [];
    const sink: MetricsSink = { counter: (n) => seen.push(n), histogram: () => undefined, gauge: () => undefined };
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, {
      dispatcherPollIntervalMs: 10,
      telemetry: otel.telemetry,
      metricsSinks: [sink],
      serviceName: "billing",
      serviceVersion: "2.1.0",
    });
    rt.registerActivity("Greet", async (_ctx, name: string) => `Hello, ${name}!`);
    rt.registerActivity("Boom", async () => {
      throw new Error("boom");
    });
    rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, name: string) => ctx.scheduleActivity("Greet", name));
    rt.registerOrchestration("Fails", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Boom", null));
    await rt.start();
    for (const i of [1, 2, 3]) await rt.client.startOrchestration(`h${i}`, "Hello", `n${i}`);
    await rt.client.startOrchestration("f", "Fails", null);
    for (const id of ["h1", "h2", "h3", "f"]) await rt.client.waitForOrchestration(id, 10_000);
    await rt.shutdown();

    const all = await otel.collect();
    assert.equal(sum(all, "duroxide_orchestration_starts_total"), 4);
    assert.equal(sum(all, "duroxide_orchestration_completions_total", { status: "success", orchestration_name: "Hello" }), 3);
    assert.equal(sum(all, "duroxide_orchestration_completions_total", { status: "failed" }), 1);
    assert.equal(sum(all, "duroxide_orchestration_failures_total", { error_category: "application" }), 1);
    assert.equal(sum(all, "duroxide_activity_executions_total", { outcome: "success", activity_name: "Greet" }), 3);
    assert.equal(sum(all, "duroxide_activity_executions_total", { outcome: "app_error", activity_name: "Boom" }), 1);
    assert.equal(histogramCount(all, "duroxide_activity_duration_seconds"), 4);
    assert.equal(metric(all, "duroxide_activity_duration_seconds").descriptor.unit, "s");
    const snap = rt.metricsSnapshot();
    assert.equal(histogramCount(all, "duroxide_orchestration_turn_duration_seconds"), snap.turnDurationMs.count);
    // Turns stored with a start or a completion are not fetched: the counter may never have moved.
    const orchFetched = all.some((x) => x.descriptor.name === "duroxide_orchestration_dispatcher_items_fetched")
      ? sum(all, "duroxide_orchestration_dispatcher_items_fetched")
      : 0;
    assert.equal(orchFetched, snap.orchDispatcherItemsFetched);
    assert.equal(sum(all, "duroxide_worker_dispatcher_items_fetched"), 4);
    // Every point carries the service attributes; the runtime's own sink saw the same counters.
    for (const m of all.filter((x) => x.descriptor.name.endsWith("_total"))) {
      for (const p of m.dataPoints) {
        assert.equal(p.attributes["service.name"], "billing");
        assert.equal(p.attributes["service.version"], "2.1.0");
      }
    }
    assert.equal(seen.filter((n) => n === "duroxide_orchestration_starts_total").length, 4);
    assert.equal(snap.orchStarts, 4);
    await otel.shutdown();
  });

  it("reads queue depths and in-flight work as gauges when collected", async () => {
    const otel = setupOtel();
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry });
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const isRunning = new Promise<void>((r) => (started = r));
    rt.registerActivity("Hold", async () => {
      started();
      await running;
      return 1;
    });
    rt.registerActivity("Gpu", async () => 1);
    rt.registerOrchestration("Waits", async (ctx: OrchestrationContext) => {
      await ctx.all([ctx.scheduleTimer(60_000), ctx.scheduleActivity("Hold", null), ctx.scheduleActivity("Gpu", null, { tag: "gpu" })]);
    });
    await rt.start();
    await rt.client.startOrchestration("w", "Waits", null);
    await isRunning;
    const all = await otel.collect();
    assert.deepEqual(gauge(all, "duroxide_timer_queue_depth"), [1]);
    assert.deepEqual(gauge(all, "duroxide_worker_queue_depth"), [1], "the gpu-tagged activity waits: no worker here takes it");
    assert.deepEqual(gauge(all, "duroxide_orchestrator_queue_depth"), [0]);
    assert.deepEqual(gauge(all, "duroxide_active_activities"), [1]);
    assert.equal(metric(all, "duroxide_active_activities").dataPoints[0]!.attributes["runtime_id"], rt.runtimeId);
    release();
    await rt.shutdown();
    await otel.shutdown();
  });

  it("shows stuck activities (running past slowActivityWarningMs) as a gauge, 0 before and after", async () => {
    const otel = setupOtel();
    const provider = await SqliteProvider.inMemory();
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry, slowActivityWarningMs: 100, logLevel: "error" });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    rt.registerActivity("Hang", async () => {
      await held;
      return 1;
    });
    rt.registerActivity("Quick", async () => 1);
    rt.registerOrchestration("Two", async (ctx: OrchestrationContext) =>
      ctx.all([ctx.scheduleActivity("Hang", null), ctx.scheduleActivity("Hang", null), ctx.scheduleActivity("Quick", null)]),
    );
    await rt.start();
    assert.deepEqual(gauge(await otel.collect(), "duroxide_activities_stuck"), [0]);
    await rt.client.startOrchestration("t", "Two", null);
    for (let i = 0; rt.metricsSnapshot().activitiesStuck !== 2; i++) {
      assert.ok(i < 200, `two hung activities counted (have ${rt.metricsSnapshot().activitiesStuck})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const during = await otel.collect();
    assert.deepEqual(gauge(during, "duroxide_activities_stuck"), [2]);
    assert.equal(metric(during, "duroxide_activities_stuck").dataPoints[0]!.attributes["runtime_id"], rt.runtimeId);
    release();
    assert.equal((await rt.client.waitForOrchestration("t", 10_000)).status, "Completed");
    assert.deepEqual(gauge(await otel.collect(), "duroxide_activities_stuck"), [0]);
    assert.equal(rt.metricsSnapshot().activitiesStuck, 0);
    await rt.shutdown();
    await otel.shutdown();
  });

  it("counts lock-renewal failures exactly", async () => {
    const otel = setupOtel();
    const inner = await SqliteProvider.inMemory();
    let failed = 0;
    const provider = new Proxy(inner, {
      get(target, key) {
        if (key === "renewWorkItemLock") {
          return async (...args: Parameters<Provider["renewWorkItemLock"]>) => {
            if (failed < 2) {
              failed++;
              throw new ProviderError("renewWorkItemLock", "injected: database is locked", true);
            }
            return target.renewWorkItemLock(...args);
          };
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 10, telemetry: otel.telemetry, workerLockTimeoutMs: 600 });
    rt.registerActivity("Slow", async () => {
      await new Promise((r) => setTimeout(r, 700));
      return "done";
    });
    rt.registerOrchestration("S", async (ctx: OrchestrationContext) => ctx.scheduleActivity("Slow", null));
    await rt.start();
    await rt.client.startOrchestration("s", "S", null);
    assert.equal((await rt.client.waitForOrchestration("s", 10_000)).status, "Completed");
    await rt.shutdown();
    assert.equal(failed, 2);
    const all = await otel.collect();
    assert.equal(sum(all, "duroxide_lock_renewal_failures_total", { lock: "activity" }), 2);
    assert.equal(sum(all, "duroxide_activity_executions_total", { activity_name: "Slow" }), 1, "the activity ran once");
    await otel.shutdown();
  });
});
