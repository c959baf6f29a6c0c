// The payload codec seam: one Provider wrapper, the same for every store, that passes each user
// payload (inputs, outputs, activity results, event and queue data, KV values, custom status,
// carried queue messages) through `encode` on its way into the store and `decode` on its way out.
// Everything else (ids, names, event kinds, error details, timing) stays readable, so queues,
// locks and management queries work unchanged, except the error texts that quote payloads (a
// poison error's message, a nondeterminism error's message, an activity failure's last
// heartbeat). Default: no codec, payloads are stored as JSON.
import type { HistoryEvent } from "../model/events.js";
import type { WorkItem } from "../model/workItems.js";
import { PayloadCodecError } from "../model/errors.js";
import { PAYLOAD_FIELDS } from "../model/payload.js";
import type { DeadLetter, DeadLetterAdmin, ExecutionInfo, InstanceInfo, ProviderAdmin } from "../providers/admin.js";
import type {
  AckResult,
  CompletionTurn,
  EnqueueOptions,
  FetchOrchestrationOptions,
  FetchWorkOptions,
  KvEntry,
  NotificationListener,
  OrchestrationAck,
  OrchestrationItem,
  Provider,
  StoredStatus,
  WorkAckOptions,
  WorkAckResult,
  WorkItemLease,
  WorkTurnAckResult,
} from "../providers/provider.js";
import type { ActivityIdentity } from "../model/workItems.js";

/**
 * Transforms the bytes of every payload written to the store, e.g. AES-GCM encryption or
 * compression. `decode(encode(x))` must give back `x`. Both run synchronously on the runtime's
 * store calls, so keep them fast (node:crypto and node:zlib sync calls are).
 */
export interface PayloadCodec {
  encode(plain: Uint8Array): Uint8Array;
  decode(stored: Uint8Array): Uint8Array;
}

/** Marks an encoded payload: a control character no JSON text or ordinary string begins with. */
const MARK = "\u0001dxc:";

/** Encode one payload to the text stored in place of it. */
export function encodePayloadText(codec: PayloadCodec, text: string): string {
  return MARK + Buffer.from(codec.encode(Buffer.from(text, "utf8"))).toString("base64");
}

/** Decode one stored payload; text without the mark was written without a codec and is kept. */
export function decodePayloadText(codec: PayloadCodec, stored: string): string {
  if (!stored.startsWith(MARK)) return stored;
  let bytes: Uint8Array;
  try {
    bytes = codec.decode(Buffer.from(stored.slice(MARK.length), "base64"));
  } catch (err) {
    throw new PayloadCodecError(`the payload codec could not decode a stored payload: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

type TextMap = (text: string) => string;

/**
 * The parts of an error that quote payloads are payloads too: a poison failure's message (the
 * offending messages), a nondeterminism error's message (it shows the diverging events with their
 * inputs and outputs) and an activity failure's last heartbeat (the activity's own JSON).
 * Everything else in an error stays readable.
 */
function mapFailure<T>(d: T, f: TextMap): T {
  const r = d as { category?: unknown; message?: unknown; lastHeartbeat?: unknown } | null;
  if (!r || typeof r !== "object") return d;
  let out: Record<string, unknown> | null = null;
  if ((r.category === "poison" || r.category === "configuration") && typeof r.message === "string") out = { ...r, message: f(r.message) };
  if (r.category === "application" && typeof r.lastHeartbeat === "string") out = { ...r, lastHeartbeat: f(r.lastHeartbeat) };
  return out === null ? d : (out as T);
}

/** A copy of an event or work item with its payload fields mapped (the original is not touched). */
function mapPayloads<T extends object>(x: T, f: TextMap): T {
  const out = { ...x } as Record<string, unknown>;
  if (out["details"] !== undefined) out["details"] = mapFailure(out["details"], f);
  for (const k of PAYLOAD_FIELDS) {
    const v = out[k];
    if (typeof v === "string") out[k] = f(v);
  }
  const carried = out["carryForwardEvents"];
  if (Array.isArray(carried)) out["carryForwardEvents"] = carried.map(([name, data]: [string, string]) => [name, f(data)]);
  return out as T;
}

const mapNullable = (v: string | null, f: TextMap): string | null => (v === null ? null : f(v));

/** The keys of T a value of T may lack. */
type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];

/**
 * How the wrapper offers each optional Provider member, given the wrapped store has it. Keyed by
 * every optional member of Provider, so a new optional member does not compile until it is
 * handled here: the runtime detects capabilities by presence, and a wrapper that hid one would
 * silently switch it off (or offer one the store lacks).
 */
type OptionalWraps = { [K in OptionalKeys<Provider>]-?: (w: CodecProvider, inner: Provider) => NonNullable<Provider[K]> };

/**
 * Wraps a provider so every payload it stores goes through `codec`. Give the wrapped provider to
 * the Runtime and to every Client (and the CLI/dashboard) that reads the store: without the
 * codec they see the encoded text, never the plain value.
 */
export function withPayloadCodec(provider: Provider, codec: PayloadCodec): Provider {
  if (!codec || typeof codec.encode !== "function" || typeof codec.decode !== "function")
    throw new TypeError("withPayloadCodec needs a codec with encode(bytes) and decode(bytes)");
  return new CodecProvider(provider, codec);
}

class CodecProvider implements Provider {
  readonly #inner: Provider;
  readonly #enc: TextMap;
  readonly #dec: TextMap;

  static readonly #optional: OptionalWraps = {
    notifiesAcrossProcesses: (_w, inner) => inner.notifiesAcrossProcesses!,
    admin: (w, inner) => codecAdmin(inner.admin!, w.#dec),
    fetchOrchestrationItems: (w, inner) => async (max, lockTimeoutMs, options) =>
      (await inner.fetchOrchestrationItems!(max, lockTimeoutMs, options)).map((i) => w.#decFetched(i)),
    fetchWorkItems: (w, inner) => async (max, lockTimeoutMs, options) => (await inner.fetchWorkItems!(max, lockTimeoutMs, options)).map((l) => w.#decLease(l)),
    ackWorkItemWithTurn: (w) => (t, c, turn, o) => w.#ackWorkItemWithTurn(t, c, turn, o),
    createInstanceWithTurn: (w, inner) => async (item, turn) => {
      const r = await inner.createInstanceWithTurn!(w.#encItem(item), { ...turn, ack: w.#encAck(turn.ack) });
      return r.applied ? { applied: true, leases: w.#decLeases(r.leases) } : r;
    },
    // The suspension is an error the instance shows: encoded as a stored failure is.
    suspendOrchestrationItem: (w, inner) => (lockToken, error, retryInMs) => inner.suspendOrchestrationItem!(lockToken, mapFailure(error, w.#enc), retryInMs),
    // Counts and activity ids only: nothing to encode.
    pendingWork: (_w, inner) => () => inner.pendingWork!(),
  };

  constructor(inner: Provider, codec: PayloadCodec) {
    this.#inner = inner;
    this.#enc = (t) => encodePayloadText(codec, t);
    this.#dec = (t) => decodePayloadText(codec, t);
    // Each optional member exists here exactly when the wrapped store has it.
    const wraps = CodecProvider.#optional as Record<string, (w: CodecProvider, inner: Provider) => unknown>;
    for (const key of Object.keys(wraps))
      if ((inner as unknown as Record<string, unknown>)[key] !== undefined)
        Object.defineProperty(this, key, { value: wraps[key]!(this, inner), enumerable: true });
  }

  declare readonly notifiesAcrossProcesses?: boolean;
  declare readonly admin?: ProviderAdmin;
  declare readonly fetchOrchestrationItems?: Provider["fetchOrchestrationItems"];
  declare readonly fetchWorkItems?: Provider["fetchWorkItems"];
  declare readonly ackWorkItemWithTurn?: Provider["ackWorkItemWithTurn"];
  declare readonly createInstanceWithTurn?: Provider["createInstanceWithTurn"];
  declare readonly suspendOrchestrationItem?: Provider["suspendOrchestrationItem"];
  declare readonly pendingWork?: Provider["pendingWork"];

  get name(): string {
    return this.#inner.name;
  }

  #encItem = <T extends WorkItem>(w: T): T => mapPayloads(w, this.#enc);
  #decItem = <T extends WorkItem>(w: T): T => mapPayloads(w, this.#dec);
  #decEvents = (es: HistoryEvent[]): HistoryEvent[] => es.map((e) => mapPayloads(e, this.#dec));

  async fetchOrchestrationItem(lockTimeoutMs: number, options?: FetchOrchestrationOptions): Promise<OrchestrationItem | null> {
    const item = await this.#inner.fetchOrchestrationItem(lockTimeoutMs, options);
    return item ? this.#decFetched(item) : null;
  }
  #decFetched(item: OrchestrationItem): OrchestrationItem {
    try {
      const kvSnapshot: Record<string, KvEntry> = {};
      for (const [k, v] of Object.entries(item.kvSnapshot)) kvSnapshot[k] = { ...v, value: this.#dec(v.value) };
      return { ...item, history: this.#decEvents(item.history), messages: item.messages.map(this.#decItem), kvSnapshot };
    } catch (err) {
      if (!(err instanceof PayloadCodecError)) throw err;
      // Undecodable data is handled like unreadable history: the poison path ends the instance.
      return { ...item, history: [], historyError: err.message };
    }
  }
  #encAck(ack: OrchestrationAck): OrchestrationAck {
    const m = ack.metadata;
    return {
      ...ack,
      historyDelta: ack.historyDelta.map((e) => mapPayloads(e, this.#enc)),
      workerItems: ack.workerItems.map(this.#encItem),
      orchestratorItems: ack.orchestratorItems.map(this.#encItem),
      metadata: {
        ...m,
        ...(typeof m.output === "string" ? { output: this.#enc(m.output) } : {}),
        ...(m.failure ? { failure: mapFailure(m.failure, this.#enc) } : {}),
      },
    };
  }
  /** Leased items are the ack's own worker items: hand back the caller's (decoded) ones. */
  #decLeases(leases: readonly WorkItemLease[]): WorkItemLease[] {
    return leases.map((l) => ({ ...l, item: this.#decItem(l.item) as WorkItemLease["item"] }));
  }
  async ackOrchestrationItem(lockToken: string, ack: OrchestrationAck): Promise<AckResult | void> {
    const r = await this.#inner.ackOrchestrationItem(lockToken, this.#encAck(ack));
    return r ? { leases: this.#decLeases(r.leases) } : r;
  }
  abandonOrchestrationItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    return this.#inner.abandonOrchestrationItem(lockToken, delayMs, ignoreAttempt);
  }
  renewOrchestrationItemLock(lockToken: string, extendMs: number): Promise<void> {
    return this.#inner.renewOrchestrationItemLock(lockToken, extendMs);
  }
  enqueueForOrchestrator(item: WorkItem, options?: EnqueueOptions): Promise<void> {
    return this.#inner.enqueueForOrchestrator(this.#encItem(item), options);
  }
  createInstance(item: WorkItem & { type: "StartOrchestration" }): Promise<void> {
    return this.#inner.createInstance(this.#encItem(item));
  }
  enqueueForWorker(item: WorkItem): Promise<void> {
    return this.#inner.enqueueForWorker(this.#encItem(item));
  }
  async fetchWorkItem(lockTimeoutMs: number, options: FetchWorkOptions): Promise<WorkItemLease | null> {
    const lease = await this.#inner.fetchWorkItem(lockTimeoutMs, options);
    return lease ? this.#decLease(lease) : null;
  }
  #decLease(lease: WorkItemLease): WorkItemLease {
    const out: WorkItemLease = { ...lease, item: this.#decItem(lease.item) };
    if (typeof lease.heartbeatDetails === "string") out.heartbeatDetails = this.#dec(lease.heartbeatDetails);
    return out;
  }
  async ackWorkItem(lockToken: string, completion: WorkItem | null, options?: WorkAckOptions): Promise<WorkAckResult | void> {
    const r = await this.#inner.ackWorkItem(lockToken, completion && this.#encItem(completion), options);
    return r ? { item: r.item && this.#decFetched(r.item) } : r;
  }
  async #ackWorkItemWithTurn(lockToken: string, completion: WorkItem, turn: CompletionTurn, options?: WorkAckOptions): Promise<WorkTurnAckResult> {
    const r = await this.#inner.ackWorkItemWithTurn!(lockToken, this.#encItem(completion), { ...turn, ack: this.#encAck(turn.ack) }, options);
    return r.applied ? { applied: true, leases: this.#decLeases(r.leases) } : { applied: false, item: r.item && this.#decFetched(r.item) };
  }
  renewWorkItemLock(lockToken: string, extendMs: number, heartbeatDetails?: string): Promise<void> {
    return this.#inner.renewWorkItemLock(lockToken, extendMs, heartbeatDetails === undefined ? undefined : this.#enc(heartbeatDetails));
  }
  abandonWorkItem(lockToken: string, delayMs?: number, ignoreAttempt?: boolean): Promise<void> {
    return this.#inner.abandonWorkItem(lockToken, delayMs, ignoreAttempt);
  }
  isActivityPending(id: ActivityIdentity): Promise<boolean> {
    return this.#inner.isActivityPending(id);
  }
  renewSessionLocks(ownerIds: string[], extendMs: number, idleTimeoutMs: number): Promise<number> {
    return this.#inner.renewSessionLocks(ownerIds, extendMs, idleTimeoutMs);
  }
  cleanupOrphanedSessions(idleTimeoutMs: number): Promise<number> {
    return this.#inner.cleanupOrphanedSessions(idleTimeoutMs);
  }
  async read(instance: string): Promise<HistoryEvent[]> {
    return this.#decEvents(await this.#inner.read(instance));
  }
  async readExecution(instance: string, executionId: number): Promise<HistoryEvent[]> {
    return this.#decEvents(await this.#inner.readExecution(instance, executionId));
  }
  async getStatus(instance: string): Promise<StoredStatus | null> {
    const s = await this.#inner.getStatus(instance);
    return (
      s && {
        ...s,
        output: mapNullable(s.output, this.#dec),
        customStatus: mapNullable(s.customStatus, this.#dec),
        failure: s.failure && mapFailure(s.failure, this.#dec),
        ...(s.suspension ? { suspension: mapFailure(s.suspension, this.#dec) } : {}),
      }
    );
  }
  async getKvValue(instance: string, key: string): Promise<string | null> {
    return mapNullable(await this.#inner.getKvValue(instance, key), this.#dec);
  }
  async getKvAllValues(instance: string): Promise<Record<string, string>> {
    const all = await this.#inner.getKvAllValues(instance);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) Object.defineProperty(out, k, { value: this.#dec(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  subscribe(listener: NotificationListener): () => void {
    return this.#inner.subscribe(listener);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

function codecAdmin(a: ProviderAdmin, dec: TextMap): ProviderAdmin {
  const info = <T extends InstanceInfo | ExecutionInfo>(x: T): T => ({
    ...x,
    output: x.output === null ? null : dec(x.output),
    ...(x.failure ? { failure: mapFailure(x.failure, dec) } : {}),
  });
  const out: ProviderAdmin = {
    listInstances: () => a.listInstances(),
    listInstancesByStatus: (s) => a.listInstancesByStatus(s),
    listExecutions: (i) => a.listExecutions(i),
    getInstanceInfo: async (i) => info(await a.getInstanceInfo(i)),
    getExecutionInfo: async (i, x) => info(await a.getExecutionInfo(i, x)),
    readHistory: async (i, x) => (await a.readHistory(i, x)).map((e) => mapPayloads(e, dec)),
    getSystemMetrics: () => a.getSystemMetrics(),
    getQueueDepths: () => a.getQueueDepths(),
    listChildren: (i) => a.listChildren(i),
    listInstancesPage: (o) => a.listInstancesPage(o),
    getInstanceTree: (i) => a.getInstanceTree(i),
    deleteInstance: (i, f) => a.deleteInstance(i, f),
    deleteInstanceBulk: (f) => a.deleteInstanceBulk(f),
    pruneExecutions: (i, o) => a.pruneExecutions(i, o),
    pruneExecutionsBulk: (f, o) => a.pruneExecutionsBulk(f, o),
    getOrchestrationStats: (i) => a.getOrchestrationStats(i),
  };
  // Optional, like the provider's: offered exactly when the wrapped store offers it.
  if (a.deadLetters) out.deadLetters = codecDeadLetters(a.deadLetters, dec);
  return out;
}

/** Compile-time guard for the admin side: every optional member of ProviderAdmin is handled above. */
const _adminOptionalHandled: Record<OptionalKeys<ProviderAdmin>, true> = { deadLetters: true };
void _adminOptionalHandled;

/**
 * A dead letter's `item` is what a retry queues again (through this wrapper, which encodes it):
 * hand it back decoded. `payload` stays the stored text as it was (it may not even parse).
 */
function codecDeadLetters(d: DeadLetterAdmin, dec: TextMap): DeadLetterAdmin {
  const letter = (l: DeadLetter): DeadLetter => {
    if (l.item === null) return l;
    try {
      return { ...l, item: mapPayloads(l.item, dec) };
    } catch (err) {
      // Undecodable (wrong key, corrupt): it cannot be retried, as an unreadable one cannot.
      if (err instanceof PayloadCodecError) return { ...l, item: null };
      throw err;
    }
  };
  return {
    listDeadLetters: async (o) => (await d.listDeadLetters(o)).map(letter),
    getDeadLetter: async (id) => {
      const l = await d.getDeadLetter(id);
      return l && letter(l);
    },
    discardDeadLetter: (id) => d.discardDeadLetter(id),
  };
}
