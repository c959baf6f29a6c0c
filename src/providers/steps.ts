// Store steps: one algorithm over a synchronous driver (better-sqlite3, whose transactions must not
// span an await) and an asynchronous one (pg). A step is a generator: a synchronous store's queries
// return at once and never yield; an asynchronous store's queries yield promises that `runAsync`
// awaits and sends back in.

/** A store operation that produces a `T`; compose steps with `yield*`. */
export type Step<T> = Generator<unknown, T, unknown>;

/** Runs a step of a synchronous store to its end, without giving up the thread. */
export function runSync<T>(step: Step<T>): T {
  const r = step.next();
  if (r.done !== true) throw new Error("a step of a synchronous store suspended: its queries must not yield");
  return r.value;
}

/** Runs a step of an asynchronous store, awaiting each promise it yields. */
export async function runAsync<T>(step: Step<T>): Promise<T> {
  let r = step.next();
  while (r.done !== true) {
    let value: unknown;
    try {
      value = await r.value;
    } catch (err) {
      r = step.throw(err);
      continue;
    }
    r = step.next(value);
  }
  return r.value;
}

/** A step that awaits one promise (for asynchronous stores' queries). */
export function* awaited<T>(promise: PromiseLike<T>): Step<T> {
  return (yield promise) as T;
}
