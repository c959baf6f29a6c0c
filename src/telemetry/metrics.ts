// duroxide's metrics through the OpenTelemetry Meter API: a MetricsSink (so every counter and
// histogram the runtime records keeps duroxide's names and labels), plus observable gauges that read
// queue depths and in-flight work only when a reader collects.
import type { Attributes, Counter, Histogram, Meter, ObservableGauge, ObservableResult } from "@opentelemetry/api";
import { METRIC_NAMES, type Labels, type MetricsSink } from "../observability/metrics.js";
import type { GaugeSources } from "../observability/hooks.js";

/** Seconds: 1 ms .. 5 min. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Counts (turns, history events). */
const COUNT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000];

interface Attached {
  runtimeId: string;
  gauges: GaugeSources;
}

export class OtelMetrics implements MetricsSink {
  readonly #counters = new Map<string, Counter>();
  readonly #histograms = new Map<string, Histogram>();
  /** Last pushed value per gauge name and label set (MetricsSink.gauge). */
  readonly #pushed = new Map<string, Map<string, { value: number; attrs: Attributes }>>();
  readonly #observable = new Map<string, ObservableGauge>();
  readonly #runtimes = new Set<Attached>();
  get #hasService(): boolean {
    for (const _ in this.serviceAttributes()) return true;
    return false;
  }

  constructor(
    private readonly meter: Meter,
    private readonly serviceAttributes: () => Attributes,
  ) {
    this.#observe(METRIC_NAMES.orchestratorQueueDepth, "Messages waiting in the orchestrator queue");
    this.#observe(METRIC_NAMES.workerQueueDepth, "Activities waiting in the worker queue");
    this.#observe(METRIC_NAMES.timerQueueDepth, "Timer messages not yet due");
    this.#observe(METRIC_NAMES.activeOrchestrations, "Orchestration turns running in this runtime");
    this.#observe(METRIC_NAMES.inFlightActivities, "Activities running in this runtime");
    // Pushed by the runtime (MetricsSink.gauge) whenever it changes; 0 from the runtime's start.
    this.#observe(METRIC_NAMES.stuckActivities, "Activities running longer than slowActivityWarningMs (each holds a worker slot)");
  }

  #attrs(labels: Labels | undefined): Attributes {
    const svc = this.serviceAttributes();
    if (!labels) return svc;
    // Labels are shared with the runtime's other sinks: never add to them in place.
    return this.#hasService ? { ...labels, ...svc } : labels;
  }

  counter(name: string, value: number, labels?: Labels): void {
    let c = this.#counters.get(name);
    if (!c) this.#counters.set(name, (c = this.meter.createCounter(name)));
    c.add(value, this.#attrs(labels));
  }

  histogram(name: string, value: number, labels?: Labels): void {
    let h = this.#histograms.get(name);
    if (!h) {
      const seconds = name.endsWith("_seconds");
      h = this.meter.createHistogram(name, {
        ...(seconds ? { unit: "s" } : {}),
        advice: { explicitBucketBoundaries: seconds ? SECONDS_BUCKETS : COUNT_BUCKETS },
      });
      this.#histograms.set(name, h);
    }
    h.record(value, this.#attrs(labels));
  }

  gauge(name: string, value: number, labels?: Labels): void {
    let byLabels = this.#pushed.get(name);
    if (!byLabels) this.#pushed.set(name, (byLabels = new Map()));
    const attrs = this.#attrs(labels);
    byLabels.set(JSON.stringify(attrs), { value, attrs });
    this.#observe(name);
  }

  attach(runtime: Attached): () => void {
    this.#runtimes.add(runtime);
    return () => this.#runtimes.delete(runtime);
  }

  #observe(name: string, description?: string): void {
    if (this.#observable.has(name)) return;
    const g = this.meter.createObservableGauge(name, description !== undefined ? { description } : {});
    g.addCallback((result) => this.#collect(name, result));
    this.#observable.set(name, g);
  }

  /** One queue-depth read per runtime serves the three queue gauges of one collection. */
  #depths = new WeakMap<Attached, { at: number; read: Promise<{ orchestrator: number; worker: number; timer: number } | null> }>();

  #queueDepths(rt: Attached): Promise<{ orchestrator: number; worker: number; timer: number } | null> {
    const read = rt.gauges.queueDepths;
    if (!read) return Promise.resolve(null);
    const now = Date.now();
    const cached = this.#depths.get(rt);
    if (cached && now - cached.at < 250) return cached.read;
    const p = read().catch(() => null);
    this.#depths.set(rt, { at: now, read: p });
    return p;
  }

  async #collect(name: string, result: ObservableResult): Promise<void> {
    for (const { value, attrs } of this.#pushed.get(name)?.values() ?? []) result.observe(value, attrs);
    for (const rt of this.#runtimes) {
      const attrs = { ...this.serviceAttributes(), runtime_id: rt.runtimeId };
      switch (name) {
        case METRIC_NAMES.activeOrchestrations:
          result.observe(rt.gauges.inFlight().orchestrations, attrs);
          break;
        case METRIC_NAMES.inFlightActivities:
          result.observe(rt.gauges.inFlight().activities, attrs);
          break;
        case METRIC_NAMES.orchestratorQueueDepth:
        case METRIC_NAMES.workerQueueDepth:
        case METRIC_NAMES.timerQueueDepth: {
          const d = await this.#queueDepths(rt);
          if (!d) break;
          const v = name === METRIC_NAMES.orchestratorQueueDepth ? d.orchestrator : name === METRIC_NAMES.workerQueueDepth ? d.worker : d.timer;
          result.observe(v, attrs);
          break;
        }
        default:
          break;
      }
    }
  }
}
