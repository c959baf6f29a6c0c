// Runtime: registries plus the two dispatchers, wired to one provider.
import type { Provider } from "../providers/provider.js";
import { InvalidArgumentError } from "../model/errors.js";
import type { OrchestrationHandler } from "../orchestration/handler.js";
import { Client } from "../client/client.js";
import { registerLocalStarter } from "../client/localStart.js";
import type { AnyDefinition } from "../definitions/define.js";
import { Logger, getDefaultLogger, parseLogLevel } from "../observability/logger.js";
import { RuntimeMetrics, type MetricsSnapshot } from "../observability/metrics.js";
import type { TelemetryHooks } from "../observability/hooks.js";
import { isPinoLike, pinoSink, pinoThreshold } from "../observability/pino.js";
import { ActivityRegistry, DEFAULT_VERSION, OrchestrationRegistry, type ActivityHandler } from "./registry.js";
import { resolveOptions, type ResolvedOptions, type RuntimeOptions } from "./options.js";
import { OrchestrationDispatcher } from "./orchestrationDispatcher.js";
import { WorkerDispatcher } from "./workerDispatcher.js";
import { RUNTIME_ALIASES, installAliases } from "../compat/aliases.js";

export class Runtime {
  readonly #provider: Provider;
  readonly #options: ResolvedOptions;
  readonly #orchestrations = new OrchestrationRegistry();
  readonly #activities = new ActivityRegistry();
  readonly #metrics: RuntimeMetrics;
  readonly #logger: Logger;
  readonly #telemetry: TelemetryHooks | undefined;
  readonly #service: { serviceName?: string; serviceVersion?: string };
  #detachTelemetry: (() => void) | null = null;
  readonly runtimeId: string;
  #orch: OrchestrationDispatcher | null = null;
  #worker: WorkerDispatcher | null = null;
  #unsubscribe: (() => void) | null = null;
  #unregisterStarter: (() => void) | null = null;
  #state: "new" | "running" | "stopped" = "new";
  #client: Client | null = null;

  constructor(provider: Provider, options: RuntimeOptions = {}) {
    if (!provider || typeof (provider as Provider).fetchOrchestrationItem !== "function")
      throw new InvalidArgumentError("Runtime needs a provider (SqliteProvider or PostgresProvider)");
    this.#provider = provider;
    this.#options = resolveOptions(options);
    this.runtimeId = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, "0");
    this.#telemetry = options.telemetry;
    this.#service = {
      ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
      ...(options.serviceVersion !== undefined ? { serviceVersion: options.serviceVersion } : {}),
    };
    const telemetrySink = this.#telemetry?.metricsSink;
    this.#metrics = new RuntimeMetrics([...(options.metricsSinks ?? []), ...(telemetrySink ? [telemetrySink] : [])]);
    const level = options.logLevel !== undefined ? parseLogLevel(options.logLevel) : undefined;
    if (options.logLevel !== undefined && level === undefined) throw new InvalidArgumentError(`unknown logLevel '${options.logLevel}'`);
    if (options.logger !== undefined && !isPinoLike(options.logger))
      throw new InvalidArgumentError("logger must be pino-compatible: error/warn/info/debug(obj, msg) functions");
    let logger: Logger;
    if (options.logger !== undefined) {
      // All duroxide targets at the logger's own level, unless logLevel says otherwise.
      const threshold = pinoThreshold(options.logger) ?? "info";
      logger = new Logger({
        ...(options.logLevel !== undefined ? { filter: options.logLevel } : { filter: `${threshold},duroxide=${threshold}` }),
        sink: pinoSink(options.logger),
        target: "duroxide::runtime",
      });
    } else if (level !== undefined || options.logFormat !== undefined || options.logSink !== undefined) {
      logger = new Logger({
        ...(level !== undefined ? { level } : {}),
        ...(options.logFormat !== undefined ? { format: options.logFormat } : {}),
        ...(options.logSink !== undefined ? { sink: options.logSink } : {}),
        target: "duroxide::runtime",
      });
    } else logger = getDefaultLogger();
    const telemetry = this.#telemetry;
    this.#logger = telemetry ? logger.withSpanIds(() => telemetry.activeSpanIds()) : logger;
  }

  // ------------------------------------------------------------------ registration

  registerActivity<TIn = unknown, TOut = unknown>(name: string, fn: ActivityHandler<TIn, TOut>): void {
    this.#assertNotStarted();
    this.#activities.register(name, fn as ActivityHandler);
  }
  /** Register at version 1.0.0. Async functions and generator functions both work. */
  registerOrchestration<TIn = unknown, TOut = unknown>(name: string, fn: OrchestrationHandler<TIn, TOut>): void {
    this.registerOrchestrationVersioned(name, DEFAULT_VERSION, fn);
  }
  /** New instances start on the highest version; running ones stay on the version they began with. */
  registerOrchestrationVersioned<TIn = unknown, TOut = unknown>(name: string, version: string, fn: OrchestrationHandler<TIn, TOut>): void {
    this.#assertNotStarted();
    this.#orchestrations.register(name, version, fn as OrchestrationHandler);
  }

  /**
   * The registered handler of an orchestration: the exact version, or the latest when `version`
   * is omitted or null. Null when this runtime has none (replay tools use it).
   */
  registeredOrchestration(name: string, version?: string | null): { version: string; handler: OrchestrationHandler } | null {
    return this.#orchestrations.resolve(name, version ?? null);
  }

  /** The determinism guard this runtime runs orchestration code under (replay tools use the same). */
  get determinism(): "guard" | "strict" | "off" {
    return this.#options.determinism;
  }

  /**
   * Register typed definitions (defineActivity / defineOrchestration), e.g.
   * `runtime.register(charge, ship, processOrder)`. An orchestration registers at its version.
   */
  register(...definitions: AnyDefinition[]): void {
    for (const d of definitions) {
      if (d?.kind === "activity") this.registerActivity(d.name, d.handler as ActivityHandler);
      else if (d?.kind === "orchestration") this.registerOrchestrationVersioned(d.name, d.version, d.handler as OrchestrationHandler);
      else throw new InvalidArgumentError("register() takes handles made by defineActivity() or defineOrchestration()");
    }
  }

  #assertNotStarted(): void {
    if (this.#state !== "new") throw new InvalidArgumentError("register handlers before runtime.start()");
  }

  // ------------------------------------------------------------------ lifecycle

  /** Start the dispatchers and return (they run in the background until shutdown). */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new InvalidArgumentError(`runtime already ${this.#state === "running" ? "started" : "stopped"}`);
    this.#state = "running";
    const deps = {
      provider: this.#provider,
      options: this.#options,
      logger: this.#logger,
      metrics: this.#metrics,
      runtimeId: this.runtimeId,
      telemetry: this.#telemetry,
    };
    // A concurrency of 0 leaves that side out: a worker-only or an orchestrator-only runtime.
    const worker =
      this.#options.workerConcurrency > 0
        ? new WorkerDispatcher({ ...deps, registry: this.#activities, client: () => this.client, localOrchestrator: () => this.#orch })
        : null;
    // The orchestrator hands new activities to this process's worker straight from its ack.
    const orch =
      this.#options.orchestrationConcurrency > 0
        ? new OrchestrationDispatcher({ ...deps, registry: this.#orchestrations, localWorker: worker })
        : null;
    this.#orch = orch;
    this.#worker = worker;
    this.#unsubscribe = this.#provider.subscribe((n) => {
      switch (n.kind) {
        case "orchestrator":
          orch?.onWork(n.visibleAtMs);
          return;
        case "worker":
          worker?.wake.notifyOne();
          return;
        case "activitiesCancelled":
          worker?.onCancelled(n.activities);
          return;
        default:
          return;
      }
    });
    orch?.start();
    worker?.start();
    // Clients of this process on the same provider object start instances through this runtime:
    // the first turn runs here and commits with the creation.
    if (orch !== null) this.#unregisterStarter = registerLocalStarter(this.#provider, { start: (item) => orch.startTurn(item) });
    const admin = this.#provider.admin;
    this.#detachTelemetry =
      this.#telemetry?.attachRuntime?.({
        ...this.#service,
        runtimeId: this.runtimeId,
        gauges: {
          ...(admin
            ? {
                queueDepths: async () => {
                  const d = await admin.getQueueDepths();
                  return { orchestrator: d.orchestratorQueue, worker: d.workerQueue, timer: d.timerQueue };
                },
              }
            : {}),
          inFlight: () => ({ orchestrations: orch?.inFlight ?? 0, activities: worker?.inFlight ?? 0 }),
        },
      }) ?? null;
    this.#logger.info("duroxide runtime started", { runtime_id: this.runtimeId, provider: this.#provider.name });
  }

  /**
   * Stop fetching work, let running turns and activities finish for up to `timeoutMs`
   * (default 1000), then signal cancellation to activities still running. Unacked work is
   * picked up again (by this or another process) when its lock expires.
   */
  async shutdown(timeoutMs = 1_000): Promise<void> {
    if (this.#state !== "running") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopped";
    this.#unregisterStarter?.();
    this.#unregisterStarter = null;
    this.#unsubscribe?.();
    this.#detachTelemetry?.();
    this.#detachTelemetry = null;
    await Promise.all([this.#orch?.stop(), this.#worker?.stop(timeoutMs)]);
    this.#logger.info("duroxide runtime stopped", { runtime_id: this.runtimeId });
  }

  /** Counters with the reference's names, counted once per event. */
  metricsSnapshot(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  get metrics(): RuntimeMetrics {
    return this.#metrics;
  }

  /** A client on the same provider. */
  get client(): Client {
    return (this.#client ??= new Client(this.#provider, this.#telemetry ? { telemetry: this.#telemetry } : {}));
  }

  /** Live instances held in memory (diagnostics). */
  get cachedInstances(): number {
    return this.#orch?.cache.size ?? 0;
  }
}

// duroxide-node names (register…Typed) forward to the methods above; see src/compat.
installAliases(Runtime.prototype, RUNTIME_ALIASES);
