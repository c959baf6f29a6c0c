// The documents the dashboard's JSON API serves and `duroxide show/tree/history --json` prints:
// one place that reads an instance through the Client and shapes it for people and scripts.
import {
  InstanceNotFoundError,
  type Client,
  type ErrorDetailsData,
  type ExecutionInfo,
  type ExecutionStatus,
  type FailureInfo,
  type HistoryEvent,
  type OrchestrationStats,
  type QueueDepths,
  type SystemMetrics,
} from "../index.js";
import { buildTimeline, type Timeline } from "./timeline.js";

/** Most executions and children a details document lists (a long continue-as-new chain can have thousands). */
export const MAX_LISTED_EXECUTIONS = 50;
export const MAX_LISTED_CHILDREN = 200;
/** Most nodes a tree document holds. */
export const MAX_TREE_NODES = 500;

export interface ChildRef {
  instanceId: string;
  orchestrationName: string;
  /** "NotStarted" while the child's start is still queued. */
  status: ExecutionStatus | "NotStarted";
}

export type ExecutionSummary = Omit<ExecutionInfo, "output" | "failure"> & { failure?: FailureInfo };

export interface InstanceDetails {
  instanceId: string;
  orchestrationName: string;
  orchestrationVersion: string;
  status: ExecutionStatus;
  currentExecutionId: number;
  createdAt: number;
  updatedAt: number;
  parentInstanceId: string | null;
  /** Input of the current execution (JSON-decoded), undefined when not recorded. */
  input: unknown;
  /** Output (JSON-decoded) when Completed. */
  output: unknown;
  error: { message: string; details: ErrorDetailsData } | null;
  customStatus: string | null;
  customStatusVersion: number;
  kv: Record<string, string>;
  /** Newest first, at most MAX_LISTED_EXECUTIONS. */
  executions: ExecutionSummary[];
  executionCount: number;
  /** Sub-orchestrations started by the current execution, at most MAX_LISTED_CHILDREN. */
  children: ChildRef[];
  childCount: number;
  stats: OrchestrationStats | null;
}

export interface TreeNode {
  instanceId: string;
  orchestrationName: string;
  status: ExecutionStatus;
  children: TreeNode[];
}

export interface InstanceTreeDocument {
  root: TreeNode;
  /** All descendants including the root, even when the document holds fewer. */
  size: number;
  truncated: boolean;
}

export interface HistoryDocument {
  instanceId: string;
  executionId: number;
  executions: number[];
  events: HistoryEvent[];
  timeline: Timeline;
}

export interface SystemDocument {
  metrics: SystemMetrics;
  queues: QueueDepths;
  /** Instances finished (completed + failed) per minute, from samples taken by this process; null until two samples exist. */
  throughputPerMinute: number | null;
  sampledAt: number;
}

function decode(raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** `currentHistory`: the current execution's events when the caller has read them already. */
export async function instanceDetails(client: Client, instanceId: string, currentHistory?: HistoryEvent[]): Promise<InstanceDetails> {
  const info = await client.getInstanceInfo(instanceId);
  const [state, kv, executionIds, stats, history] = await Promise.all([
    client.getInstanceState(instanceId),
    client.getKvAllValues(instanceId),
    client.listExecutions(instanceId),
    client.getOrchestrationStats(instanceId),
    currentHistory ?? client.readHistory(instanceId, info.currentExecutionId),
  ]);
  const listed = [...executionIds].sort((a, b) => b - a).slice(0, MAX_LISTED_EXECUTIONS);
  const executions = await Promise.all(
    listed.map(async (id) => {
      const { output: _output, ...e } = await client.getExecutionInfo(instanceId, id);
      return e;
    }),
  );
  const started = history.find((e) => e.type === "OrchestrationStarted");
  const childIds: string[] = [];
  for (const e of history) if (e.type === "SubOrchestrationScheduled") childIds.push(e.instance);
  const children = await Promise.all(childIds.slice(0, MAX_LISTED_CHILDREN).map((id) => childRef(client, id)));
  return {
    instanceId,
    orchestrationName: info.orchestrationName,
    orchestrationVersion: info.orchestrationVersion,
    status: info.status,
    currentExecutionId: info.currentExecutionId,
    createdAt: info.createdAt,
    updatedAt: info.updatedAt,
    parentInstanceId: info.parentInstanceId,
    input: started && started.type === "OrchestrationStarted" ? decode(started.input) : undefined,
    output: info.status === "Completed" ? info.output : undefined,
    error: state.failure ? { message: state.failure.displayMessage(), details: state.failure.data } : null,
    customStatus: state.customStatus,
    customStatusVersion: state.customStatusVersion,
    kv,
    executions,
    executionCount: executionIds.length,
    children,
    childCount: childIds.length,
    stats,
  };
}

async function childRef(client: Client, instanceId: string): Promise<ChildRef> {
  try {
    const i = await client.getInstanceInfo(instanceId);
    return { instanceId, orchestrationName: i.orchestrationName, status: i.status };
  } catch (err) {
    if (err instanceof InstanceNotFoundError) return { instanceId, orchestrationName: "", status: "NotStarted" };
    throw err;
  }
}

export async function historyDocument(client: Client, instanceId: string, executionId?: number, nowMs = Date.now()): Promise<HistoryDocument> {
  const info = await client.getInstanceInfo(instanceId);
  const executions = (await client.listExecutions(instanceId)).sort((a, b) => a - b);
  const id = executionId ?? info.currentExecutionId;
  if (!executions.includes(id)) throw new InstanceNotFoundError(`${instanceId}' execution '${id}`);
  const events = await client.readHistory(instanceId, id);
  return { instanceId, executionId: id, executions, events, timeline: buildTimeline(events, nowMs) };
}

/** Events the instance page document carries; the page asks for the rest as it is scrolled to. */
export const PAGE_EVENTS = 200;

export interface InstancePageDocument {
  details: InstanceDetails;
  /** The timeline of the whole execution, with its first PAGE_EVENTS events (`eventCount` has them all). */
  history: HistoryDocument & { eventCount: number };
  /** Null when the tree cannot be read (e.g. the instance was deleted meanwhile). */
  tree: InstanceTreeDocument | null;
}

/** Everything the dashboard's instance page shows, reading the history once. */
export async function instancePageDocument(client: Client, instanceId: string, executionId?: number): Promise<InstancePageDocument> {
  const history = await historyDocument(client, instanceId, executionId);
  const current = history.executionId === history.executions[history.executions.length - 1] ? history.events : undefined;
  const [details, tree] = await Promise.all([
    instanceDetails(client, instanceId, current),
    treeDocument(client, instanceId).catch((err: unknown) => {
      if (err instanceof InstanceNotFoundError) return null;
      throw err;
    }),
  ]);
  return { details, history: { ...history, events: history.events.slice(0, PAGE_EVENTS), eventCount: history.events.length }, tree };
}

export interface EventsPage {
  executionId: number;
  offset: number;
  events: HistoryEvent[];
  eventCount: number;
}

/** A slice of one execution's events (the instance page's "show more"). */
export async function eventsPage(client: Client, instanceId: string, executionId: number, offset: number, limit: number): Promise<EventsPage> {
  const events = await client.readHistory(instanceId, executionId);
  return { executionId, offset, events: events.slice(offset, offset + limit), eventCount: events.length };
}

/** The instance and its descendants as a nested tree (at most MAX_TREE_NODES nodes). */
export async function treeDocument(client: Client, instanceId: string): Promise<InstanceTreeDocument> {
  const tree = await client.getInstanceTree(instanceId);
  const ids = tree.allIds.slice(0, MAX_TREE_NODES);
  const infos = await Promise.all(ids.map((id) => client.getInstanceInfo(id)));
  const nodes = new Map<string, TreeNode>();
  for (const i of infos) nodes.set(i.instanceId, { instanceId: i.instanceId, orchestrationName: i.orchestrationName, status: i.status, children: [] });
  for (const i of infos) {
    if (i.instanceId === instanceId || i.parentInstanceId === null) continue;
    nodes.get(i.parentInstanceId)?.children.push(nodes.get(i.instanceId)!);
  }
  return { root: nodes.get(instanceId)!, size: tree.size, truncated: tree.size > ids.length };
}

/** Samples the system metrics; keeps recent samples to derive throughput. */
export class SystemSampler {
  readonly #samples: { at: number; finished: number }[] = [];

  constructor(
    private readonly client: Client,
    private readonly windowMs = 60_000,
  ) {}

  async sample(nowMs = Date.now()): Promise<SystemDocument> {
    const [metrics, queues] = await Promise.all([this.client.getSystemMetrics(), this.client.getQueueDepths()]);
    const finished = metrics.completedInstances + metrics.failedInstances;
    this.#samples.push({ at: nowMs, finished });
    while (this.#samples.length > 2 && nowMs - this.#samples[0]!.at > this.windowMs) this.#samples.shift();
    const first = this.#samples[0]!;
    const span = nowMs - first.at;
    const throughputPerMinute = span > 0 ? Math.max(0, ((finished - first.finished) * 60_000) / span) : null;
    return { metrics, queues, throughputPerMinute, sampledAt: nowMs };
  }
}
