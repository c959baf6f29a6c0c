// Runs an orchestration function of either form: async function (or any function returning a
// promise or value) or generator function (the duroxide-node form, driven synchronously).
import { DurableFuture, type Settlement } from "./future.js";
import type { OrchestrationContext } from "./context.js";

/** An orchestration: `async (ctx, input) => result` or `function* (ctx, input) { ... }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OrchestrationHandler<TIn = any, TOut = unknown> = (
  ctx: OrchestrationContext,
  input: TIn,
) => Promise<TOut> | Generator<unknown, TOut, any> | TOut; // eslint-disable-line @typescript-eslint/no-explicit-any

type Done = (s: Settlement<unknown>) => void;

export function runHandler(handler: OrchestrationHandler, ctx: OrchestrationContext, input: unknown, done: Done): void {
  let result: unknown;
  try {
    result = handler(ctx, input);
  } catch (error) {
    done({ ok: false, error });
    return;
  }
  if (isGenerator(result)) driveGenerator(result, done);
  else if (isThenable(result))
    result.then(
      (value) => done({ ok: true, value }),
      (error: unknown) => done({ ok: false, error }),
    );
  else done({ ok: true, value: result });
}

function isGenerator(x: unknown): x is Generator<unknown, unknown, unknown> {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as Generator).next === "function" &&
    typeof (x as Generator).throw === "function" &&
    typeof (x as Generator)[Symbol.iterator] === "function"
  );
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === "object" || typeof x === "function") && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

/** Step the generator; continue synchronously when a yielded task is already settled. */
function driveGenerator(gen: Generator<unknown, unknown, unknown>, done: Done): void {
  let next: Settlement<unknown> | null = { ok: true, value: undefined };
  let running = false;
  const resume = (s: Settlement<unknown>): void => {
    next = s;
    if (!running) loop();
  };
  const loop = (): void => {
    running = true;
    try {
      while (next) {
        const input: Settlement<unknown> = next;
        next = null;
        let r: IteratorResult<unknown, unknown>;
        try {
          r = input.ok ? gen.next(input.value) : gen.throw(input.error);
        } catch (error) {
          done({ ok: false, error });
          return;
        }
        if (r.done) {
          done({ ok: true, value: r.value });
          return;
        }
        const y = r.value;
        if (!(y instanceof DurableFuture)) {
          next = {
            ok: false,
            error: new TypeError(
              `Invalid generator step result: yield a task created by the orchestration context (got ${describe(y)})`,
            ),
          };
          continue;
        }
        y._listen(resume);
      }
    } finally {
      running = false;
    }
  };
  loop();
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (isThenable(x)) return "a Promise";
  return typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}
