// The PostgreSQL store's wake-ups: local listeners told right after a commit, the coalesced NOTIFY
// to other processes (NotifyBatcher: never inside the write it announces, where PostgreSQL would
// serialise every notifying commit behind one lock held through its WAL flush; it rides along with
// the next group-committed batch when one is coming, see groupCommit.ts), and the LISTEN connection
// that hears other processes' writes on this schema.
import { randomUUID } from "node:crypto";
import type pg from "pg";

import { Listeners } from "../listeners.js";
import type { NotificationListener, ProviderNotification } from "../provider.js";
import { holdingEventLoop } from "./connection.js";
import type { PgGroupCommit } from "./groupCommit.js";
import { encodeNotifications, NotifyBatcher, PgListener } from "./notifier.js";

export interface WakeupOptions {
  /** `application_name` of the store's connections (the LISTEN one gets "-listen"). */
  applicationName?: string;
  /** Cross-process wake-ups over LISTEN/NOTIFY (default true). NOTIFY is always sent. */
  listen?: boolean;
}

export class PgWakeups {
  /** Identifies this object's own NOTIFYs, which its LISTEN client skips. */
  readonly #source = randomUUID().slice(0, 8);
  readonly #listeners = new Listeners();
  #listener: PgListener | null = null;
  #closed = false;
  readonly #notifier: NotifyBatcher;

  constructor(
    /** NOTIFYs go through it: along with the next batch of writes when one is coming. */
    writes: PgGroupCommit,
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    private readonly options: WakeupOptions,
  ) {
    this.#notifier = new NotifyBatcher((bodies) => writes.notify(this.channel, bodies));
  }

  /** LISTEN/NOTIFY carries every process's writes on this schema. */
  get acrossProcesses(): boolean {
    return this.options.listen !== false;
  }

  /**
   * After a commit: wake local listeners and NOTIFY other processes (coalesced with concurrent
   * operations' wake-ups, see NotifyBatcher). The NOTIFY is not awaited: the caller (a runtime's
   * ack) finishes its bookkeeping, such as metrics, in the same tick, before any local waiter that
   * was just woken can read the committed state back; close() waits for NOTIFYs still in flight.
   */
  committed(notes: readonly ProviderNotification[]): void {
    if (notes.length === 0) return;
    this.emit(notes);
    void this.#notifier.notify(encodeNotifications(notes).map((b) => `${this.#source};${b}`));
  }

  /** Wakes this process's listeners only. */
  emit(notifications: readonly ProviderNotification[]): void {
    this.#listeners.emit(notifications);
  }

  #deliver(n: ProviderNotification): void {
    this.#listeners.deliver(n);
  }

  subscribe(listener: NotificationListener): () => void {
    const unsubscribe = this.#listeners.add(listener);
    if (this.#listener === null && !this.#closed && this.options.listen !== false) {
      this.#listener = new PgListener({
        connection: this.connection,
        channel: this.channel,
        source: this.#source,
        applicationName: `${this.options.applicationName ?? "duroxide"}-listen`,
        deliver: (n) => this.#deliver(n),
        onReconnect: () => {
          // Notifications may have been missed while disconnected: wake everyone once.
          this.#deliver({ kind: "orchestrator", visibleAtMs: Date.now() });
          this.#deliver({ kind: "worker" });
        },
      });
      void this.#listener.start();
    }
    return unsubscribe;
  }

  /** Resolves once the LISTEN connection is up (or its first attempt failed). */
  async whenListening(): Promise<boolean> {
    const l = this.#listener;
    if (l === null) return false;
    await holdingEventLoop(() => l.start());
    return l.connected;
  }

  /** Drops the LISTEN connection as a network failure would (it reconnects). */
  simulateListenerDisconnect(): void {
    this.#listener?.simulateDisconnect();
  }

  /** Stops telling listeners anything; returns once NOTIFYs in flight are sent and LISTEN is stopped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    const l = this.#listener;
    this.#listener = null;
    await this.#notifier.idle();
    if (l !== null) await l.stop();
  }
}
