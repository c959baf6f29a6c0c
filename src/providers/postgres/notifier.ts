// Cross-process wake-ups over LISTEN/NOTIFY.
//
// Writers send `pg_notify(channel, '<source>;<body>')` right AFTER their transaction commits (see
// NotifyBatcher), so a notification never announces a write that did not commit. Bodies: 'o:<visibleAtMs>' (orchestrator queue), 'w'
// (worker queue), 'i:<instance>' (instance changed), 'c:<json [instance, executionId, activityId][]>'
// (activities withdrawn). `source` identifies the provider object that wrote, so it can skip its
// own notifications (it already told its local listeners directly after the commit).
import type pg from "pg";
import { pgDriver } from "./driver.js";
import type { ActivityIdentity } from "../../model/workItems.js";
import type { InstanceChanges, ProviderNotification } from "../provider.js";
import { quoteIdent } from "./schemaName.js";

/** NOTIFY payloads must stay below 8000 bytes; keep a margin for the source prefix. */
const MAX_BODY = 7000;

/** Instance ids of this many bytes or more get no cross-process instanceChanged wake-up. */
export const MAX_INSTANCE_BYTES = MAX_BODY - 6;

/** The body of an instanceChanged notification up to the instance id (which follows it). */
export function instanceChangedPrefix(c: InstanceChanges | undefined): string {
  return c ? `j:${c.status ? "s" : ""}${c.customStatus ? "c" : ""}${c.kv ? "k" : ""}:` : "i:";
}

/** Encodes notifications into NOTIFY bodies (large cancellation lists are split). */
export function encodeNotifications(notes: readonly ProviderNotification[]): string[] {
  const out: string[] = [];
  for (const n of notes) {
    switch (n.kind) {
      case "orchestrator":
        out.push(`o:${Math.trunc(n.visibleAtMs)}`);
        break;
      case "worker":
        out.push("w");
        break;
      case "instanceChanged":
        // An ack that changed nothing a waiter can wait on (status, custom status, KV) wakes no
        // one: it is not sent (most turns of a running instance). An id too long for a payload
        // just goes without a cross-process wake-up.
        if (n.changes !== undefined && !n.changes.status && !n.changes.customStatus && !n.changes.kv) break;
        if (Buffer.byteLength(n.instance) < MAX_INSTANCE_BYTES) out.push(instanceChangedPrefix(n.changes) + n.instance);
        break;
      case "activitiesCancelled": {
        let chunk: [string, number, number][] = [];
        let size = 2;
        for (const a of n.activities) {
          const entry: [string, number, number] = [a.instance, a.executionId, a.activityId];
          const len = Buffer.byteLength(JSON.stringify(entry)) + 1;
          if (len + 4 > MAX_BODY) continue;
          if (size + len > MAX_BODY && chunk.length > 0) {
            out.push(`c:${JSON.stringify(chunk)}`);
            chunk = [];
            size = 2;
          }
          chunk.push(entry);
          size += len;
        }
        if (chunk.length > 0) out.push(`c:${JSON.stringify(chunk)}`);
        break;
      }
    }
  }
  return [...new Set(out)];
}

/** Decodes one NOTIFY body; returns null for anything unrecognised. */
export function decodeNotification(body: string): ProviderNotification | null {
  if (body === "w") return { kind: "worker" };
  const tag = body.slice(0, 2);
  const rest = body.slice(2);
  switch (tag) {
    case "o:": {
      const v = Number(rest);
      return Number.isFinite(v) ? { kind: "orchestrator", visibleAtMs: v } : null;
    }
    case "i:":
      return { kind: "instanceChanged", instance: rest };
    case "j:": {
      const sep = rest.indexOf(":");
      if (sep < 0) return null;
      const flags = rest.slice(0, sep);
      return {
        kind: "instanceChanged",
        instance: rest.slice(sep + 1),
        changes: { status: flags.includes("s"), customStatus: flags.includes("c"), kv: flags.includes("k") },
      };
    }
    case "c:": {
      try {
        const parsed: unknown = JSON.parse(rest);
        if (!Array.isArray(parsed)) return null;
        const activities: ActivityIdentity[] = [];
        for (const e of parsed) {
          if (Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number" && typeof e[2] === "number") {
            activities.push({ instance: e[0], executionId: e[1], activityId: e[2] });
          }
        }
        return activities.length > 0 ? { kind: "activitiesCancelled", activities } : null;
      } catch {
        return null;
      }
    }
    default:
      return null;
  }
}

/**
 * Sends NOTIFYs after the writes they announce have committed, coalescing what concurrent
 * operations hand it into one autocommitted statement (at most one in flight).
 *
 * Why not NOTIFY inside the writing transaction: PostgreSQL serialises the commits of all
 * notifying transactions of a database on one lock, held through the commit's WAL flush, so every
 * ack would wait for every other ack's fsync in turn (no group commit). A NOTIFY-only transaction
 * writes no WAL of its own and holds that lock only briefly. The cost is the window between a
 * commit and its NOTIFY: a process dying there loses the wake-up, which the runtime's polling
 * covers (as it covers notifications missed while a LISTEN connection is down).
 *
 * Coalescing: identical bodies are sent once, and "o:<ms>" wake-ups for work already visible
 * collapse into one (a woken fetch loop drains the queue, so one wake-up per batch suffices).
 */
export class NotifyBatcher {
  #pending: string[] = [];
  #waiters: Array<() => void> = [];
  #running = false;
  #flushing: Promise<void> | null = null;

  constructor(private readonly send: (bodies: string[]) => Promise<void>) {}

  /** Resolves once `bodies` were sent (or sending failed: wake-ups are best effort). */
  notify(bodies: readonly string[]): Promise<void> {
    if (bodies.length === 0) return Promise.resolve();
    for (const b of bodies) this.#pending.push(b);
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (!this.#running) {
      const flushing = this.#flush();
      this.#flushing = flushing;
      void flushing.finally(() => {
        if (this.#flushing === flushing) this.#flushing = null;
      });
    }
    return done;
  }

  /** Resolves once nothing is queued or being sent. */
  async idle(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async #flush(): Promise<void> {
    this.#running = true;
    try {
      while (this.#pending.length > 0) {
        const bodies = coalesceBodies(this.#pending, Date.now());
        const waiters = this.#waiters;
        this.#pending = [];
        this.#waiters = [];
        try {
          await this.send(bodies);
        } catch {
          // Best effort: receivers poll as a floor.
        }
        for (const w of waiters) w();
      }
    } finally {
      this.#running = false;
    }
  }
}

/** Dedupes bodies and keeps one "o:<ms>" wake-up for everything visible by `now` (each body is '<source>;<body>'). */
export function coalesceBodies(bodies: readonly string[], now: number): string[] {
  const out = new Set<string>();
  let dueSource: string | null = null;
  let due = -Infinity;
  for (const b of bodies) {
    const sep = b.indexOf(";");
    if (b.startsWith("o:", sep + 1)) {
      const v = Number(b.slice(sep + 3));
      if (Number.isFinite(v) && v <= now) {
        if (v > due) {
          due = v;
          dueSource = b.slice(0, sep);
        }
        continue;
      }
    }
    out.add(b);
  }
  const result = [...out];
  if (dueSource !== null) result.unshift(`${dueSource};o:${due}`);
  return result;
}

export interface ListenerOptions {
  connection: pg.ClientConfig;
  channel: string;
  source: string;
  applicationName?: string;
  /** Called with each notification another provider object sent. */
  deliver: (n: ProviderNotification) => void;
  /** Called after a (re)connection, since notifications may have been missed meanwhile. */
  onReconnect: () => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Holds one dedicated connection in LISTEN mode, reconnecting with exponential backoff when it
 * drops. Polling by the runtime remains the floor while it is down.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private connecting: Promise<void> | null = null;
  private everConnected = false;

  constructor(private readonly opts: ListenerOptions) {
    this.backoffMs = opts.minBackoffMs ?? 100;
  }

  /** True while the LISTEN connection is up. */
  get connected(): boolean {
    return this.client !== null;
  }

  /** Starts listening; resolves once the first attempt finished (successfully or not). */
  start(): Promise<void> {
    if (this.connecting === null) this.connecting = this.connect();
    return this.connecting;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new (pgDriver().Client)({
      ...this.opts.connection,
      application_name: this.opts.applicationName ?? "duroxide-listen",
    });
    // The LISTEN connection only speeds up what a running runtime or a pending wait (each holding
    // the event loop itself) would find by polling, so it never keeps the process alive.
    (client as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref();
    let failed = false;
    const onDown = (): void => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = null;
      client.removeAllListeners("notification");
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on("error", onDown);
    client.on("end", onDown);
    client.on("notification", (msg) => {
      if (msg.channel !== this.opts.channel || msg.payload === undefined) return;
      const sep = msg.payload.indexOf(";");
      if (sep < 0) return;
      if (msg.payload.slice(0, sep) === this.opts.source) return;
      const n = decodeNotification(msg.payload.slice(sep + 1));
      if (n !== null) this.opts.deliver(n);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.opts.channel)}`);
    } catch {
      onDown();
      return;
    }
    if (this.stopped || failed) {
      client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = this.opts.minBackoffMs ?? 100;
    if (this.everConnected) this.opts.onReconnect();
    this.everConnected = true;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer !== null) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 5000);
    this.timer = setTimeout(() => {
      this.timer = null;
      // A reconnection counts as "ever connected" so missed notifications are compensated.
      this.everConnected = true;
      this.connecting = this.connect();
    }, delay);
    this.timer.unref();
  }

  /** Test hook: drops the connection as a network failure would. */
  simulateDisconnect(): void {
    const c = this.client;
    if (c !== null) c.emit("error", new Error("simulated disconnect"));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const c = this.client;
    this.client = null;
    if (c !== null) {
      c.removeAllListeners();
      c.on("error", () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}
