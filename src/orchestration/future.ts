// DurableFuture: a thenable whose completion only the replay engine delivers.
//
// Settlement is synchronous and listener-based (not Promise-based) so that generator
// orchestrations and combinators progress without microtask hops; `then` adapts it to await.

export type Settlement<T> = { ok: true; value: T } | { ok: false; error: unknown };

export type FutureKind =
  | "activity"
  | "timer"
  | "waitEvent"
  | "dequeueEvent"
  | "subOrchestration"
  | "startOrchestration"
  | "systemCall"
  | "continueAsNew"
  | "join"
  | "select"
  | "retry";

/** Internal hooks the engine attaches to a future. */
export interface FutureHooks {
  /** Called once when user code (or a combinator) cancels an unsettled future. */
  cancel?: () => void;
  /** Activity futures only: set the routing tag before the schedule is recorded. */
  setTag?: (tag: string) => void;
}

export class DurableFuture<T = unknown> implements PromiseLike<T> {
  #settlement: Settlement<T> | undefined;
  #listeners: Array<(s: Settlement<T>) => void> = [];
  #cancelled = false;
  #tag: string | undefined;
  /** @internal */
  _hooks: FutureHooks = {};

  constructor(readonly type: FutureKind) {}

  get isSettled(): boolean {
    return this.#settlement !== undefined;
  }
  get isCancelled(): boolean {
    return this.#cancelled;
  }

  /** @internal Settle once; listeners run synchronously. */
  _settle(s: Settlement<T>): void {
    if (this.#settlement) return;
    this.#settlement = s;
    const ls = this.#listeners;
    this.#listeners = [];
    for (const l of ls) l(s);
  }

  /** @internal Observe settlement synchronously (immediately if already settled). */
  _listen(listener: (s: Settlement<T>) => void): void {
    if (this.#settlement) listener(this.#settlement);
    else this.#listeners.push(listener);
  }

  /** @internal */
  _peek(): Settlement<T> | undefined {
    return this.#settlement;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return new Promise<T>((resolve, reject) => {
      this._listen((s) => (s.ok ? resolve(s.value) : reject(s.error)));
    }).then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /**
   * Give up on this task: an activity is withdrawn from the worker queue (a running copy is
   * signalled), a sub-orchestration is cancelled, a wait stops consuming events. Durable: the
   * decision is recorded in history. A no-op once settled.
   */
  cancel(): void {
    if (this.#settlement || this.#cancelled) return;
    this.#cancelled = true;
    this._hooks.cancel?.();
  }

  /** Route this activity to workers that serve `tag`. Call before the next await. */
  withTag(tag: string): this {
    if (!this._hooks.setTag) throw new TypeError(`withTag() applies to activity tasks only, not '${this.type}'`);
    this._hooks.setTag(tag);
    this.#tag = tag;
    return this;
  }

  /** The routing tag given with `withTag` (duroxide-node's descriptor field), else undefined. */
  get tag(): string | undefined {
    return this.#tag;
  }
}
