// Client: start, signal, cancel, observe and manage orchestration instances.
import type { Provider, StoredStatus } from "../providers/provider.js";
import type {
  DeleteInstanceResult,
  ExecutionInfo,
  InstanceFilter,
  InstanceInfo,
  InstancePage,
  InstanceTree,
  ListInstancesOptions,
  OrchestrationStats,
  PruneOptions,
  PruneResult,
  QueueDepths,
  SystemMetrics,
  DeadLetter,
  DeadLetterAdmin,
  ListDeadLettersOptions,
} from "../providers/admin.js";
import { getDefaultLogger } from "../observability/logger.js";
import type { TelemetryHooks } from "../observability/hooks.js";
import type { HistoryEvent } from "../model/events.js";
import type { ExecutionStatus, InstanceState, OrchestrationStatus } from "../model/status.js";
import { decodeJson, encodeJson } from "../model/json.js";
import {
  ErrorDetails,
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InvalidArgumentError,
  ManagementNotSupportedError,
  OrchestrationFailedError,
  type ErrorDetailsData,
  type FailureInfo,
} from "../model/errors.js";
import { parseSemver } from "../model/semver.js";
import { InstanceWatcher } from "./waiting.js";
import { startLocally } from "./localStart.js";
import type { WorkItemOf } from "../model/workItems.js";
import { viewEvent, type HistoryEventView } from "./eventView.js";
import { checkIdentifier } from "../model/identifiers.js";
import { makeHistoryExport, type ExportedExecution, type HistoryExport } from "../model/historyExport.js";
import { CLIENT_ALIASES, installAliases } from "../compat/aliases.js";
import type { AnyOrchestrationRef, InputOf, OutputOf } from "../model/definitions.js";

/** Every id and name a client call takes goes through the one identifier check. */
const requireId = checkIdentifier;

function publicStatus(s: ExecutionStatus): OrchestrationStatus["status"] {
  // Between executions of a continue-as-new chain the instance is running.
  return s === "ContinuedAsNew" ? "Running" : s;
}

/** Options of a start call. */
export interface StartOptions {
  /**
   * What a start for an id that already exists (or whose start is queued) does: `"ignore"`
   * (default) resolves and leaves the existing instance as it is; `"fail"` rejects with
   * InstanceAlreadyExistsError.
   */
  ifExists?: "ignore" | "fail";
}

function startIfExists(options: StartOptions | undefined): "ignore" | "fail" {
  const v = options?.ifExists ?? "ignore";
  if (v !== "ignore" && v !== "fail") throw new InvalidArgumentError(`ifExists must be "ignore" or "fail", got ${JSON.stringify(v)}`);
  return v;
}

export interface ClientOptions {
  /**
   * `openTelemetry()` from `duroxide-ts/telemetry`: a start called inside an active span puts the
   * orchestration in that span's trace (the context is stored with the start).
   */
  telemetry?: TelemetryHooks;
}

export class Client {
  readonly #provider: Provider;
  readonly #watcher: InstanceWatcher;
  readonly #telemetry: TelemetryHooks | undefined;

  constructor(provider: Provider, options: ClientOptions = {}) {
    if (!provider || typeof (provider as Provider).fetchOrchestrationItem !== "function")
      throw new InvalidArgumentError("Client needs a provider (SqliteProvider or PostgresProvider)");
    this.#provider = provider;
    this.#telemetry = options.telemetry;
    this.#watcher = new InstanceWatcher(provider);
  }

  get provider(): Provider {
    return this.#provider;
  }

  // ------------------------------------------------------------------ starting and signalling

  /**
   * Start a new instance; resolves once the start is durably stored: queued, or, when a started
   * Runtime of this process runs on the same provider object and has the orchestration, stored
   * together with the instance's first turn, which that runtime ran (one commit). The instance id is the
   * idempotency key: if `instanceId` already exists (or its start is queued) the call resolves
   * and the existing instance is left exactly as it is, as in duroxide-node, so a retried
   * request or a rerun script starts nothing twice. Pass `{ ifExists: "fail" }` to get
   * InstanceAlreadyExistsError instead.
   */
  async startOrchestration(instanceId: string, orchestrationName: string, input?: unknown, options?: StartOptions): Promise<void> {
    await this.#start(instanceId, orchestrationName, input, null, options);
  }

  /** {@link startOrchestration} pinned to a registered handler version (semver `x.y.z`). */
  async startOrchestrationVersioned(instanceId: string, orchestrationName: string, input: unknown, version: string, options?: StartOptions): Promise<void> {
    if (typeof version !== "string" || !parseSemver(version))
      throw new InvalidArgumentError(`version must be semver (x.y.z), got ${JSON.stringify(version)}`);
    await this.#start(instanceId, orchestrationName, input, version, options);
  }

  async #start(instanceId: string, name: string, input: unknown, version: string | null, options: StartOptions | undefined): Promise<void> {
    const ifExists = startIfExists(options);
    requireId("instanceId", instanceId);
    requireId("orchestrationName", name);
    const encoded = encodeJson(input, "orchestration input");
    const span = this.#telemetry?.startQueued({ instanceId, orchestrationName: name, version, input: encoded });
    const item: WorkItemOf<"StartOrchestration"> = {
      type: "StartOrchestration",
      instance: instanceId,
      orchestration: name,
      input: encoded,
      version,
      parent: null,
      executionId: 1,
      queuedAtMs: Date.now(),
      ...(span?.context ? { trace: span.context } : {}),
    };
    try {
      // A runtime of this process on the same provider runs the first turn and stores it with the
      // creation (one commit instead of create, fetch and ack); otherwise the start is queued.
      if (!(await startLocally(this.#provider, item))) await this.#provider.createInstance(item);
    } catch (err) {
      if (err instanceof InstanceAlreadyExistsError && ifExists === "ignore") {
        span?.end();
        return;
      }
      span?.end(err);
      throw err;
    }
    span?.end();
  }

  /**
   * Raise an external event. Events raised before the orchestration waits are kept until a
   * `waitForEvent` consumes them. Rejects with InstanceNotFoundError for an unknown instance.
   */
  async raiseEvent(instanceId: string, eventName: string, data?: unknown): Promise<void> {
    requireId("instanceId", instanceId);
    requireId("eventName", eventName);
    await this.#provider.enqueueForOrchestrator(
      { type: "ExternalRaised", instance: instanceId, name: eventName, data: encodeJson(data, "event data") },
      { requireInstance: true },
    );
  }

  /** Put a message on an instance's FIFO queue (consumed by `dequeueEvent`). */
  async enqueueEvent(instanceId: string, queueName: string, data?: unknown): Promise<void> {
    requireId("instanceId", instanceId);
    requireId("queueName", queueName);
    await this.#provider.enqueueForOrchestrator(
      { type: "QueueMessage", instance: instanceId, name: queueName, data: encodeJson(data, "queue message") },
      { requireInstance: true },
    );
  }

  /** Cancel an instance: it ends Failed with `canceled: <reason>`; its children are cancelled too. */
  async cancelInstance(instanceId: string, reason = ""): Promise<void> {
    requireId("instanceId", instanceId);
    await this.#provider.enqueueForOrchestrator({ type: "CancelInstance", instance: instanceId, reason }, { requireInstance: true });
  }

  // ------------------------------------------------------------------ observing

  /** duroxide-node shape; `output` is the raw stored string here (as in duroxide-node). */
  async getStatus(instanceId: string): Promise<OrchestrationStatus> {
    requireId("instanceId", instanceId);
    return toStatus(await this.#provider.getStatus(instanceId), false);
  }

  /** Typed view with error details. */
  async getInstanceState(instanceId: string): Promise<InstanceState> {
    requireId("instanceId", instanceId);
    const s = await this.#provider.getStatus(instanceId);
    if (!s)
      return {
        instanceId,
        status: "NotFound",
        orchestrationName: null,
        orchestrationVersion: null,
        executionId: 0,
        output: null,
        failure: null,
        customStatus: null,
        customStatusVersion: 0,
        suspension: null,
      };
    return {
      instanceId,
      status: publicStatus(s.status),
      orchestrationName: s.orchestrationName,
      orchestrationVersion: s.orchestrationVersion,
      executionId: s.executionId,
      output: s.status === "Completed" ? s.output : null,
      failure: s.failure ? new ErrorDetails(s.failure) : null,
      customStatus: s.customStatus,
      customStatusVersion: s.customStatusVersion,
      suspension: s.suspension ? new ErrorDetails(s.suspension) : null,
    };
  }

  /**
   * Wait until the instance completes or fails; `output` is JSON-parsed. Rejects with
   * TimeoutError("Operation timed out") if it is still running (or unknown) after `timeoutMs`.
   */
  async waitForOrchestration(instanceId: string, timeoutMs = 30_000): Promise<OrchestrationStatus> {
    return toStatus(await this.#waitTerminal(instanceId, timeoutMs), true);
  }

  async #waitTerminal(instanceId: string, timeoutMs: number): Promise<StoredStatus> {
    requireId("instanceId", instanceId);
    return this.#watcher.waitFor(
      instanceId,
      "status",
      async () => {
        const s = await this.#provider.getStatus(instanceId);
        return s && (s.status === "Completed" || s.status === "Failed") ? s : null;
      },
      timeoutMs,
    );
  }

  /** Resolves once `customStatusVersion` exceeds `lastSeenVersion`. */
  async waitForStatusChange(instanceId: string, lastSeenVersion: number, pollIntervalMs = 500, timeoutMs = 30_000): Promise<OrchestrationStatus> {
    requireId("instanceId", instanceId);
    return this.#watcher.waitFor(
      instanceId,
      "customStatus",
      async () => {
        const s = await this.#provider.getStatus(instanceId);
        if (!s || s.customStatusVersion <= lastSeenVersion) return null;
        return toStatus(s, true);
      },
      timeoutMs,
      Math.max(5, pollIntervalMs),
    );
  }

  // ------------------------------------------------------------------ KV

  async getValue(instanceId: string, key: string): Promise<string | null> {
    return this.#provider.getKvValue(requireId("instanceId", instanceId), requireId("key", key));
  }
  async getKvAllValues(instanceId: string): Promise<Record<string, string>> {
    return this.#provider.getKvAllValues(requireId("instanceId", instanceId));
  }
  async waitForValue(instanceId: string, key: string, timeoutMs = 30_000): Promise<string> {
    requireId("instanceId", instanceId);
    requireId("key", key);
    return this.#watcher.waitFor(instanceId, "kv", () => this.#provider.getKvValue(instanceId, key), timeoutMs);
  }

  // ------------------------------------------------------------------ typed helpers

  /** The output itself; throws OrchestrationFailedError when the instance failed. */
  async waitForOrchestrationTyped<TResult = unknown>(instanceId: string, timeoutMs = 30_000): Promise<TResult> {
    const s = await this.#waitTerminal(instanceId, timeoutMs);
    const r = toStatus(s, true);
    if (r.status === "Failed") {
      throw new OrchestrationFailedError(instanceId, s.failure ? new ErrorDetails(s.failure) : null, r.error ?? "failed");
    }
    return r.output as TResult;
  }

  // ------------------------------------------------------------------ typed definitions (defineOrchestration)

  /**
   * Start a typed orchestration at the handle's version. The input is checked against the
   * definition (and its schema) first: a bad one throws ValidationError and nothing is stored.
   */
  async start<R extends AnyOrchestrationRef>(orchestration: R, instanceId: string, input: InputOf<R>, options?: StartOptions): Promise<void> {
    const ref = requireOrchestrationRef(orchestration);
    const value = ref.checkInput(input);
    await this.#start(instanceId, ref.name, value, ref.version ?? null, options);
  }

  /**
   * Wait for a typed orchestration's output (up to `timeoutMs`, default 30 s). Throws
   * OrchestrationFailedError when it failed, TimeoutError on timeout, and InvalidArgumentError
   * when the instance runs a different orchestration than the handle's.
   */
  async result<R extends AnyOrchestrationRef>(orchestration: R, instanceId: string, timeoutMs = 30_000): Promise<OutputOf<R>> {
    const ref = requireOrchestrationRef(orchestration);
    const s = await this.#waitTerminal(instanceId, timeoutMs);
    if (s.orchestrationName !== ref.name)
      throw new InvalidArgumentError(`instance '${instanceId}' runs orchestration '${s.orchestrationName}', not '${ref.name}'`);
    const r = toStatus(s, true);
    if (r.status === "Failed")
      throw new OrchestrationFailedError(instanceId, s.failure ? new ErrorDetails(s.failure) : null, r.error ?? "failed");
    return r.output as OutputOf<R>;
  }

  // ------------------------------------------------------------------ management

  #admin() {
    const a = this.#provider.admin;
    if (!a) throw new ManagementNotSupportedError(`provider ${this.#provider.name} has no management capability`);
    return a;
  }
  // ------------------------------------------------------------------ dead letters

  #deadLetters(): DeadLetterAdmin {
    const d = this.#admin().deadLetters;
    if (!d) throw new ManagementNotSupportedError(`provider ${this.#provider.name} does not expose dead letters`);
    return d;
  }
  /** Messages the store set aside as unprocessable (oldest first; page with `afterId`). */
  listDeadLetters(options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
    return this.#deadLetters().listDeadLetters(options);
  }
  /**
   * Puts a dead letter back on its queue and removes it. Only readable ones can be retried
   * (`item` not null); an unreadable one can only be discarded. Not atomic: if the process dies
   * between the two steps the dead letter stays listed, and retrying it again queues it twice.
   */
  async retryDeadLetter(id: number): Promise<void> {
    const d = this.#deadLetters();
    const letter = await d.getDeadLetter(id);
    if (letter === null) throw new InvalidArgumentError(`no dead letter with id ${id}`, "DeadLetterNotFound");
    if (letter.item === null) throw new InvalidArgumentError(`dead letter ${id} cannot be read (${letter.error}); it can only be discarded`, "DeadLetterUnreadable");
    if (letter.queue === "worker") await this.#provider.enqueueForWorker(letter.item);
    else await this.#provider.enqueueForOrchestrator(letter.item);
    await d.discardDeadLetter(id);
  }
  /** Deletes a dead letter for good; false when there was none with this id. */
  discardDeadLetter(id: number): Promise<boolean> {
    return this.#deadLetters().discardDeadLetter(id);
  }

  hasManagementCapability(): boolean {
    return this.#provider.admin !== undefined;
  }
  listAllInstances(): Promise<string[]> {
    return this.#admin().listInstances();
  }
  listInstancesByStatus(status: string): Promise<string[]> {
    if (!["Running", "Completed", "Failed", "ContinuedAsNew"].includes(status))
      throw new InvalidArgumentError(`unknown status '${status}'`);
    return this.#admin().listInstancesByStatus(status as ExecutionStatus);
  }
  /** `failure` (when failed): the same FailureInfo as getStatus. */
  async getInstanceInfo(instanceId: string): Promise<Omit<InstanceInfo, "output" | "failure"> & { output?: unknown; failure?: FailureInfo }> {
    const { failure, ...info } = await this.#admin().getInstanceInfo(requireId("instanceId", instanceId));
    return { ...info, output: info.output === null ? undefined : decodeJson(info.output), ...failureField(failure) };
  }
  async getExecutionInfo(
    instanceId: string,
    executionId: number,
  ): Promise<Omit<ExecutionInfo, "output" | "failure"> & { output?: unknown; failure?: FailureInfo }> {
    const { failure, ...info } = await this.#admin().getExecutionInfo(requireId("instanceId", instanceId), executionId);
    return { ...info, output: info.output === null ? undefined : decodeJson(info.output), ...failureField(failure) };
  }
  listExecutions(instanceId: string): Promise<number[]> {
    return this.#admin().listExecutions(requireId("instanceId", instanceId));
  }
  /** Each event's kind and data in duroxide-node's JsEvent shape (see ./eventView.ts). */
  async readExecutionHistory(instanceId: string, executionId: number): Promise<HistoryEventView[]> {
    const events = await this.#admin().readHistory(requireId("instanceId", instanceId), executionId);
    return events.map(viewEvent);
  }
  /** Full typed history of one execution. */
  readHistory(instanceId: string, executionId?: number): Promise<HistoryEvent[]> {
    requireId("instanceId", instanceId);
    return executionId === undefined ? this.#provider.read(instanceId) : this.#provider.readExecution(instanceId, executionId);
  }
  /**
   * The instance's identity and every stored execution's events as one JSON-serialisable,
   * versioned document (`format: "duroxide-history"`). `replayHistory` from `duroxide-ts/testing`
   * accepts it; documents exported by this release replay in later ones. Rejects with
   * InstanceNotFoundError for an unknown id.
   */
  async exportHistory(instanceId: string): Promise<HistoryExport> {
    requireId("instanceId", instanceId);
    const s = await this.#provider.getStatus(instanceId);
    if (!s) throw new InstanceNotFoundError(instanceId);
    const ids = this.#provider.admin
      ? await this.#provider.admin.listExecutions(instanceId)
      : Array.from({ length: s.executionId }, (_, i) => i + 1);
    const executions: ExportedExecution[] = [];
    for (const executionId of ids) {
      const events = await this.#provider.readExecution(instanceId, executionId);
      if (events.length > 0) executions.push({ executionId, events });
    }
    return makeHistoryExport(
      {
        instanceId,
        orchestrationName: s.orchestrationName,
        orchestrationVersion: s.orchestrationVersion,
        status: publicStatus(s.status) as HistoryExport["instance"]["status"],
        currentExecutionId: s.executionId,
        parentInstanceId: s.parentInstanceId,
      },
      executions,
      Date.now(),
    );
  }
  getSystemMetrics(): Promise<SystemMetrics> {
    return this.#admin().getSystemMetrics();
  }
  getQueueDepths(): Promise<QueueDepths> {
    return this.#admin().getQueueDepths();
  }

  /**
   * One page of instances, newest first, filtered on indexed columns (status of the current
   * execution, orchestration name, creation time). Pass `nextCursor` back as `cursor` for the next page.
   */
  listInstances(options: ListInstancesOptions = {}): Promise<InstancePage> {
    return this.#admin().listInstancesPage(options);
  }
  /** The instance and all its descendants. Rejects with InstanceNotFoundError for an unknown id. */
  getInstanceTree(instanceId: string): Promise<InstanceTree> {
    return this.#admin().getInstanceTree(requireId("instanceId", instanceId));
  }
  /** Storage footprint of one instance; `null` if it does not exist. */
  getOrchestrationStats(instanceId: string): Promise<OrchestrationStats | null> {
    return this.#admin().getOrchestrationStats(requireId("instanceId", instanceId));
  }
  /**
   * Delete a root instance with all its sub-orchestrations, atomically. Without `force` it rejects
   * with InstanceStillRunningError while any of them runs; a sub-orchestration id rejects with
   * CannotDeleteSubOrchestrationError; an unknown id with InstanceNotFoundError.
   */
  async deleteInstance(instanceId: string, force = false): Promise<DeleteInstanceResult> {
    requireId("instanceId", instanceId);
    if (typeof force !== "boolean") throw new InvalidArgumentError("force must be a boolean");
    const r = await this.#admin().deleteInstance(instanceId, force);
    getDefaultLogger().info("Deleted instance", { instance_id: instanceId, force, ...counts(r) });
    return r;
  }
  /** Delete terminal (Completed/Failed) root instances matching the filter (default limit 1000), with their trees. */
  async deleteInstanceBulk(filter: InstanceFilter = {}): Promise<DeleteInstanceResult> {
    const r = await this.#admin().deleteInstanceBulk(checkFilter(filter));
    getDefaultLogger().info("Bulk deleted instances", counts(r));
    return r;
  }
  /** Delete old executions of one instance; never the current one, never a running one; KV is untouched. */
  async pruneExecutions(instanceId: string, options: PruneOptions = {}): Promise<PruneResult> {
    const r = await this.#admin().pruneExecutions(requireId("instanceId", instanceId), checkPrune(options));
    getDefaultLogger().info("Pruned executions", { instance_id: instanceId, ...counts(r) });
    return r;
  }
  /** `pruneExecutions` for every instance matching the filter (running instances included). */
  async pruneExecutionsBulk(filter: InstanceFilter = {}, options: PruneOptions = {}): Promise<PruneResult> {
    const r = await this.#admin().pruneExecutionsBulk(checkFilter(filter), checkPrune(options));
    getDefaultLogger().info("Bulk pruned executions", counts(r));
    return r;
  }
}

// duroxide-node names (…Typed) forward to the methods above; see src/compat.
installAliases(Client.prototype, CLIENT_ALIASES);

function counts(r: DeleteInstanceResult | PruneResult): Record<string, number> {
  return { ...r };
}

function checkFilter(f: InstanceFilter): InstanceFilter {
  if (f === null || typeof f !== "object") throw new InvalidArgumentError("filter must be an object");
  if (f.instanceIds !== undefined && (!Array.isArray(f.instanceIds) || f.instanceIds.some((i) => typeof i !== "string")))
    throw new InvalidArgumentError("filter.instanceIds must be an array of strings");
  if (f.completedBefore !== undefined && (typeof f.completedBefore !== "number" || !Number.isFinite(f.completedBefore)))
    throw new InvalidArgumentError("filter.completedBefore must be a number (ms since epoch)");
  if (f.limit !== undefined && (!Number.isInteger(f.limit) || f.limit < 0))
    throw new InvalidArgumentError("filter.limit must be a non-negative integer");
  return f;
}

function requireOrchestrationRef(ref: unknown): { name: string; version?: string | undefined; checkInput(i: unknown): unknown } {
  const r = ref as { kind?: unknown; name?: unknown; checkInput?: unknown } | null;
  if (!r || typeof r !== "object" || r.kind !== "orchestration" || typeof r.name !== "string" || typeof r.checkInput !== "function")
    throw new InvalidArgumentError("expected an orchestration handle made by defineOrchestration()");
  return r as { name: string; version?: string; checkInput(i: unknown): unknown };
}

function checkPrune(o: PruneOptions): PruneOptions {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("options must be an object");
  if (o.keepLast !== undefined && (!Number.isInteger(o.keepLast) || o.keepLast < 0))
    throw new InvalidArgumentError("keepLast must be a non-negative integer");
  if (o.completedBefore !== undefined && (typeof o.completedBefore !== "number" || !Number.isFinite(o.completedBefore)))
    throw new InvalidArgumentError("completedBefore must be a number (ms since epoch)");
  return o;
}

function failureField(f: ErrorDetailsData | null | undefined): { failure?: FailureInfo } {
  return f ? { failure: new ErrorDetails(f).info() } : {};
}

function toStatus(s: StoredStatus | null, parseOutput: boolean): OrchestrationStatus {
  if (!s) return { status: "NotFound", customStatusVersion: 0 };
  const out: OrchestrationStatus = { status: publicStatus(s.status), customStatusVersion: s.customStatusVersion };
  if (s.status === "Completed") out.output = parseOutput ? decodeJson(s.output) : (s.output ?? undefined);
  if (s.status === "Failed") {
    out.error = s.failure ? new ErrorDetails(s.failure).displayMessage() : (s.output ?? "failed");
    if (s.failure) out.failure = new ErrorDetails(s.failure).info();
  }
  if (s.customStatus !== null) out.customStatus = s.customStatus;
  if (s.suspension && out.status === "Running") out.suspension = new ErrorDetails(s.suspension).displayMessage();
  return out;
}
