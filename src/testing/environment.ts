// TestEnvironment: a runtime, a client and a store on a virtual clock, with time skipping.
//
// Time skips only while the test awaits a result through `env.client` (waitForOrchestration and
// the other waits): then, whenever the store holds no runnable work and no running turn, the
// clock jumps to the next durable timer (retry backoffs and attempt timeouts are durable timers
// too). Between waits the clock runs at real speed, so a test can raise an event before a
// timeout fires. Nothing global is patched: the clock is passed to the store and the runtime.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../runtime/runtime.js";
import type { RuntimeOptions } from "../runtime/options.js";
import { Client } from "../client/client.js";
import { SqliteProvider } from "../providers/sqlite/sqliteProvider.js";
import type { PendingWork, Provider } from "../providers/provider.js";
import type { OrchestrationStatus } from "../model/status.js";
import { InvalidArgumentError } from "../model/errors.js";
import { activityKey } from "../model/workItems.js";
import { VirtualClock } from "./clock.js";

export interface TestEnvironmentOptions {
  /**
   * Where the store lives: "memory" (default), "file" (a SQLite file in a fresh temp directory,
   * removed on close), or a `sqlite:` URL / path of your own (kept).
   */
  store?: "memory" | "file" | string;
  /** Jump the clock to the next durable timer while the test waits and nothing runs (default true). */
  timeSkipping?: boolean;
  /** Virtual time at creation (default: the real time now). */
  startTimeMs?: number;
  /**
   * How long (real ms) a running activity holds the clock still before time skips past it, so an
   * activity's attempt timeout can fire without waiting for it in real time (default 250).
   */
  activityGraceMs?: number;
  /** Runtime options (the clock is the environment's). Polling defaults to 10 ms. */
  runtime?: Omit<RuntimeOptions, "clock">;
  /**
   * Puts a wrapper between the store and the runtime and client, e.g.
   * `(s) => withPayloadCodec(s, codec)` to test with the codec production uses. Time skipping
   * reads the wrapped store, so the wrapper must offer `pendingWork`.
   */
  wrapStore?: (store: SqliteProvider) => Provider;
}

type Waits = { enter(): void; leave(): void };

/** A Client whose waits let the environment skip time while they are pending. */
class TestClient extends Client {
  readonly #waits: Waits;
  constructor(provider: Provider, waits: Waits) {
    super(provider);
    this.#waits = waits;
  }
  async #waiting<T>(f: () => Promise<T>): Promise<T> {
    this.#waits.enter();
    try {
      return await f();
    } finally {
      this.#waits.leave();
    }
  }
  override waitForOrchestration(instanceId: string, timeoutMs?: number): Promise<OrchestrationStatus> {
    return this.#waiting(() => super.waitForOrchestration(instanceId, timeoutMs));
  }
  override waitForOrchestrationTyped<TResult = unknown>(instanceId: string, timeoutMs?: number): Promise<TResult> {
    return this.#waiting(() => super.waitForOrchestrationTyped<TResult>(instanceId, timeoutMs));
  }
  override waitForStatusChange(instanceId: string, lastSeenVersion: number, pollIntervalMs?: number, timeoutMs?: number): Promise<OrchestrationStatus> {
    return this.#waiting(() => super.waitForStatusChange(instanceId, lastSeenVersion, pollIntervalMs, timeoutMs));
  }
  override waitForValue(instanceId: string, key: string, timeoutMs?: number): Promise<string> {
    return this.#waiting(() => super.waitForValue(instanceId, key, timeoutMs));
  }
}

const realSleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms).unref?.();
  });

export class TestEnvironment {
  /** The SQLite store itself. */
  readonly provider: SqliteProvider;
  /** What the runtime and client use: the store, or its wrapper (`wrapStore`). */
  readonly store: Provider;
  /** Register orchestrations and activities here, then `await env.start()`. */
  readonly runtime: Runtime;
  /** A client whose waits count their timeout in real time and let the clock skip. */
  readonly client: Client;
  readonly clock: VirtualClock;
  readonly timeSkipping: boolean;

  readonly #graceMs: number;
  readonly #tempDir: string | null;
  #waiters = 0;
  #loop: Promise<void> | null = null;
  #running = false;
  #wake: (() => void) | null = null;
  /** First real time each running activity was seen (for the grace period). */
  #activitySeen = new Map<string, number>();

  private constructor(provider: SqliteProvider, store: Provider, clock: VirtualClock, options: TestEnvironmentOptions, tempDir: string | null) {
    this.provider = provider;
    this.store = store;
    this.clock = clock;
    this.timeSkipping = options.timeSkipping ?? true;
    this.#graceMs = options.activityGraceMs ?? 250;
    this.#tempDir = tempDir;
    this.runtime = new Runtime(this.store, { dispatcherPollIntervalMs: 10, logLevel: "error", ...options.runtime, clock });
    this.client = new TestClient(this.store, {
      enter: () => {
        this.#waiters++;
        this.#wake?.();
      },
      leave: () => {
        this.#waiters--;
      },
    });
  }

  static async create(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
    const clock = new VirtualClock(options.startTimeMs);
    const store = options.store ?? "memory";
    let tempDir: string | null = null;
    let provider: SqliteProvider;
    if (store === "memory") provider = await SqliteProvider.inMemory({ clock });
    else if (store === "file") {
      tempDir = mkdtempSync(join(tmpdir(), "duroxide-test-"));
      provider = await SqliteProvider.open(`sqlite:${join(tempDir, "store.db")}`, { clock, checkpointIntervalMs: 0 });
    } else if (typeof store === "string" && /^postgres(ql)?:/i.test(store)) {
      // PostgreSQL's fetch functions compare message visibility and lock expiry with one "now", so
      // a virtual clock would either never fire timers or expire running locks when it jumps.
      throw new InvalidArgumentError("TestEnvironment runs on SQLite only: the PostgreSQL store has no clock seam (its visibility and lock times are one value)");
    } else if (typeof store === "string" && store.length > 0) {
      provider = await SqliteProvider.open(store.startsWith("sqlite:") ? store : `sqlite:${store}`, { clock });
    } else throw new InvalidArgumentError(`TestEnvironment store must be "memory", "file" or a sqlite URL`);
    const wrapped = options.wrapStore ? options.wrapStore(provider) : provider;
    if (!wrapped.pendingWork) {
      await provider.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      throw new InvalidArgumentError("TestEnvironment wrapStore: the wrapped store has no pendingWork, which time skipping and sleep() read");
    }
    return new TestEnvironment(provider, wrapped, clock, options, tempDir);
  }

  /** Virtual time now (ms since the epoch); history timestamps and ctx.utcNow() read the same clock. */
  now(): number {
    return this.clock.now();
  }

  /** Advance the virtual clock by `ms`, then let the work that became due run. */
  async sleep(ms: number): Promise<void> {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError("sleep(ms) needs a non-negative number");
    this.clock.advanceBy(ms);
    await this.#settle(5_000);
  }

  async start(): Promise<void> {
    await this.runtime.start();
    this.#running = true;
    if (this.timeSkipping) this.#loop = this.#skipLoop();
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.runtime.shutdown(200);
    await this.provider.close();
    if (this.#tempDir) rmSync(this.#tempDir, { recursive: true, force: true });
  }

  /** Read through the wrapper when there is one: what the runtime sees (create checked it is there). */
  #pendingWork(): Promise<PendingWork> {
    return this.store.pendingWork!();
  }

  /** Wait (real time, bounded) until nothing in the store is runnable or running. */
  async #settle(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const p = await this.#pendingWork();
      if (!p.runnable && p.lockedInstances === 0 && p.runningActivities.length === 0) return;
      await realSleep(2);
    }
  }

  async #skipLoop(): Promise<void> {
    const unsubscribe = this.store.subscribe(() => this.#wake?.());
    try {
      while (this.#running) {
        if (this.#waiters > 0) await this.#maybeSkip();
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.#waiters > 0 ? 5 : 50);
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = null;
      }
    } finally {
      unsubscribe();
    }
  }

  async #maybeSkip(): Promise<void> {
    const p = await this.#pendingWork().catch(() => null);
    if (!p || p.runnable || p.lockedInstances > 0 || p.nextVisibleAtMs === null) return;
    const now = Date.now();
    const seen = new Map<string, number>();
    let youngest = Infinity;
    for (const a of p.runningActivities) {
      const key = activityKey(a);
      const first = this.#activitySeen.get(key) ?? now;
      seen.set(key, first);
      youngest = Math.min(youngest, now - first);
    }
    this.#activitySeen = seen;
    if (p.runningActivities.length > 0 && youngest < this.#graceMs) return;
    this.clock.advanceTo(p.nextVisibleAtMs);
  }
}
