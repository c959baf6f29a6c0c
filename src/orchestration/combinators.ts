// all / join / race / select over durable futures and arbitrary async blocks.
// Winners are decided by delivery order, which is history order; losers are cancelled durably.
import { DurableFuture, type Settlement } from "./future.js";

export type Task<T = unknown> = DurableFuture<T> | PromiseLike<T>;
export type JoinResult<T = unknown> = { ok: T; err?: undefined } | { ok?: undefined; err: string };
export interface RaceResult<T = unknown> {
  index: number;
  value: T;
}

type Dirty = () => void;

/** Adopt a promise (e.g. an async block) as a future; its settlement marks the turn dirty. */
export function toFuture<T>(t: Task<T>, dirty: Dirty): DurableFuture<T> {
  if (t instanceof DurableFuture) return t;
  if (!t || typeof (t as PromiseLike<T>).then !== "function")
    throw new TypeError("expected a task created by the orchestration context, or a promise");
  const f = new DurableFuture<T>("join");
  t.then(
    (value) => {
      dirty();
      f._settle({ ok: true, value });
    },
    (error: unknown) => {
      dirty();
      f._settle({ ok: false, error });
    },
  );
  return f;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : typeof e === "string" ? e : String(e);
}

function cancelAll(fs: DurableFuture<unknown>[], except = -1): void {
  fs.forEach((f, i) => {
    if (i !== except) f.cancel();
  });
}

/** Wait for every task; settle with each task's settlement, in argument order. */
function gather(futures: DurableFuture<unknown>[], type: "join", onAll: (s: Settlement<unknown>[]) => Settlement<unknown>): DurableFuture<unknown> {
  const out = new DurableFuture<unknown>(type);
  out._hooks.cancel = () => cancelAll(futures);
  const results: Settlement<unknown>[] = new Array(futures.length);
  let remaining = futures.length;
  if (remaining === 0) out._settle(onAll([]));
  futures.forEach((f, i) => {
    f._listen((s) => {
      results[i] = s;
      if (--remaining === 0) out._settle(onAll(results));
    });
  });
  return out;
}

/** duroxide-node `all`: an array of `{ok}` / `{err}` entries; never throws for a failed task. */
export function allSettled<T>(tasks: Task<T>[], dirty: Dirty): DurableFuture<JoinResult<T>[]> {
  const fs = tasks.map((t) => toFuture(t, dirty) as unknown as DurableFuture<unknown>);
  return gather(fs, "join", (rs) => ({
    ok: true,
    value: rs.map((s) => (s.ok ? { ok: s.value } : { err: errorText(s.error) })),
  })) as DurableFuture<JoinResult<T>[]>;
}

/** Rust-style `join`: values in order; after every task settled, throws the first failure. */
export function joinAll<T>(tasks: Task<T>[], dirty: Dirty): DurableFuture<T[]> {
  const fs = tasks.map((t) => toFuture(t, dirty) as unknown as DurableFuture<unknown>);
  return gather(fs, "join", (rs) => {
    const failed = rs.find((s) => !s.ok);
    if (failed) return failed;
    return { ok: true, value: rs.map((s) => (s as { value: unknown }).value) };
  }) as DurableFuture<T[]>;
}

/**
 * First task to settle wins (ties go to the earliest argument); the others are cancelled.
 * `flattenErrors` keeps duroxide-node's `race` shape, where a failed winner's message is the value.
 */
export function firstOf<T>(tasks: Task<T>[], dirty: Dirty, flattenErrors: boolean): DurableFuture<RaceResult<T>> {
  if (tasks.length === 0) throw new TypeError("race/select needs at least one task");
  const fs = tasks.map((t) => toFuture(t, dirty) as unknown as DurableFuture<unknown>);
  const out = new DurableFuture<RaceResult<T>>("select");
  out._hooks.cancel = () => cancelAll(fs);
  // Already-settled tasks decide first, in argument order.
  const ready = fs.findIndex((f) => f.isSettled);
  let decided = false;
  const win = (i: number, s: Settlement<unknown>): void => {
    if (decided) return;
    decided = true;
    // Decide first (a cancelled loser settles too and must not win), then cancel the losers, then
    // settle: a generator resumes synchronously on settlement and may finish the orchestration,
    // after which the losers' cancellation breadcrumbs could no longer be recorded.
    cancelAll(fs, i);
    if (s.ok) out._settle({ ok: true, value: { index: i, value: s.value as T } });
    else if (flattenErrors) out._settle({ ok: true, value: { index: i, value: errorText(s.error) as T } });
    else out._settle({ ok: false, error: s.error });
  };
  if (ready >= 0) {
    win(ready, fs[ready]!._peek()!);
    return out;
  }
  fs.forEach((f, i) => f._listen((s) => win(i, s)));
  return out;
}

/** The value a task settles with. */
export type TaskValue<T> = T extends PromiseLike<infer V> ? V : never;

/** `all` over a tuple: one `{ ok }` / `{ err }` entry per task, each typed by its task. */
export type JoinResults<T extends readonly Task<unknown>[]> = { -readonly [K in keyof T]: JoinResult<TaskValue<T[K]>> };
/** `join` over a tuple: the values, each typed by its task. */
export type JoinValues<T extends readonly Task<unknown>[]> = { -readonly [K in keyof T]: TaskValue<T[K]> };

/**
 * The outcome of `raceSettled`: which task finished first (`index`) and how. Narrow on `index`
 * and then `ok`: a failed winner arrives as `{ ok: false, error }`, never typed as a value.
 */
export type RaceOutcome<T extends readonly Task<unknown>[]> = {
  [K in keyof T]: K extends `${infer N extends number}`
    ? { index: N; ok: true; value: TaskValue<T[K]> } | { index: N; ok: false; error: unknown }
    : never;
}[number];

/** `select` over a tuple: the winner's value typed by its index (a failed winner throws). */
export type SelectResult<T extends readonly Task<unknown>[]> = {
  [K in keyof T]: K extends `${infer N extends number}` ? { index: N; value: TaskValue<T[K]> } : never;
}[number];

/** First task to settle wins and the others are cancelled; the winner's outcome is kept as is. */
export function firstSettled(tasks: Task<unknown>[], dirty: Dirty): DurableFuture<{ index: number; ok: boolean; value?: unknown; error?: unknown }> {
  const out = new DurableFuture<{ index: number; ok: boolean; value?: unknown; error?: unknown }>("select");
  const inner = firstOf(
    tasks.map((t) => {
      const f = toFuture(t, dirty);
      // Turn a failure into a value so the race itself never throws for a failed winner.
      const settled = new DurableFuture<Settlement<unknown>>("join");
      settled._hooks.cancel = () => f.cancel();
      f._listen((s) => settled._settle({ ok: true, value: s }));
      return settled;
    }),
    dirty,
    false,
  );
  out._hooks.cancel = () => inner.cancel();
  inner._listen((s) => {
    if (!s.ok) return out._settle(s);
    const { index, value } = s.value;
    out._settle({ ok: true, value: value.ok ? { index, ok: true, value: value.value } : { index, ok: false, error: value.error } });
  });
  return out;
}
