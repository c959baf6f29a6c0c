// The exported history document: one instance's identity and every stored execution's events.
// Versioned so that histories exported by one release replay in later ones.
import { DUROXIDE_VERSION, type HistoryEvent } from "./events.js";
import { InvalidHistoryError } from "./errors.js";

export const HISTORY_FORMAT = "duroxide-history";
/** Bump when the document's shape changes; readers upgrade older versions. */
export const HISTORY_FORMAT_VERSION = 1;

export interface ExportedExecution {
  executionId: number;
  /** The execution's events in event-id order, exactly as stored. */
  events: HistoryEvent[];
}

export interface HistoryExport {
  format: typeof HISTORY_FORMAT;
  formatVersion: number;
  /** Library version that wrote the document. */
  exportedBy: string;
  exportedAtMs: number;
  instance: {
    instanceId: string;
    orchestrationName: string;
    orchestrationVersion: string | null;
    /** Public status at export time. */
    status: "Running" | "Completed" | "Failed";
    currentExecutionId: number;
    parentInstanceId: string | null;
  };
  /** Oldest first; pruned executions are absent. */
  executions: ExportedExecution[];
}

export function makeHistoryExport(instance: HistoryExport["instance"], executions: ExportedExecution[], nowMs: number): HistoryExport {
  return {
    format: HISTORY_FORMAT,
    formatVersion: HISTORY_FORMAT_VERSION,
    exportedBy: `duroxide-ts@${DUROXIDE_VERSION}`,
    exportedAtMs: nowMs,
    instance,
    executions,
  };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function checkEvents(events: unknown, where: string): HistoryEvent[] {
  if (!Array.isArray(events)) throw new InvalidHistoryError(`${where}: events must be an array`);
  events.forEach((e, i) => {
    if (!isObject(e) || typeof e.type !== "string" || typeof e.eventId !== "number")
      throw new InvalidHistoryError(`${where}: event ${i} is not a history event (needs type and eventId)`);
  });
  return events as HistoryEvent[];
}

/**
 * Reads an exported document (object or JSON text) of this or an older format version, or a bare
 * array of one execution's events. Rejects with InvalidHistoryError otherwise.
 */
export function readHistoryExport(doc: unknown): HistoryExport {
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch (err) {
      throw new InvalidHistoryError(`history is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (Array.isArray(doc)) {
    const events = checkEvents(doc, "history");
    const first = events[0];
    if (!first || first.type !== "OrchestrationStarted")
      throw new InvalidHistoryError("history: the first event must be OrchestrationStarted");
    return makeHistoryExport(
      {
        instanceId: first.instanceId,
        orchestrationName: first.name,
        orchestrationVersion: first.version,
        status: "Running",
        currentExecutionId: first.executionId,
        parentInstanceId: first.parentInstance,
      },
      [{ executionId: first.executionId, events }],
      0,
    );
  }
  if (!isObject(doc) || doc.format !== HISTORY_FORMAT)
    throw new InvalidHistoryError(`not a ${HISTORY_FORMAT} document (format: ${isObject(doc) ? JSON.stringify(doc.format) : typeof doc})`);
  const v = doc.formatVersion;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw new InvalidHistoryError(`bad formatVersion ${JSON.stringify(v)}`);
  if (v > HISTORY_FORMAT_VERSION)
    throw new InvalidHistoryError(
      `history format version ${v} is newer than this library reads (${HISTORY_FORMAT_VERSION}); upgrade duroxide-ts`,
    );
  if (!isObject(doc.instance) || typeof doc.instance.instanceId !== "string")
    throw new InvalidHistoryError("history: instance.instanceId missing");
  if (!Array.isArray(doc.executions)) throw new InvalidHistoryError("history: executions must be an array");
  const executions = doc.executions.map((x, i) => {
    if (!isObject(x) || typeof x.executionId !== "number") throw new InvalidHistoryError(`history: execution ${i} has no executionId`);
    return { executionId: x.executionId, events: checkEvents(x.events, `execution ${x.executionId}`) };
  });
  return { ...(doc as unknown as HistoryExport), executions };
}
