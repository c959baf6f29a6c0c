// Store steps: one generator algorithm run by a synchronous store (no await inside a
// better-sqlite3 transaction) and by an asynchronous one (pg).
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { awaited, runAsync, runSync, type Step } from "../../src/providers/steps.js";

// The same algorithm over two query sources.
interface Source {
  get(key: string): Step<number>;
}
function* sumOf(src: Source, keys: string[]): Step<number> {
  let total = 0;
  for (const k of keys) total += yield* src.get(k);
  return total;
}
const values: Record<string, number> = { a: 1, b: 2, c: 3 };
const syncSource: Source = {
  *get(k) {
    const v = values[k];
    if (v === undefined) throw new Error(`no ${k}`);
    return v;
  },
};
const asyncSource: Source = {
  *get(k) {
    return yield* awaited(
      new Promise<number>((resolve, reject) =>
        setImmediate(() => (values[k] === undefined ? reject(new Error(`no ${k}`)) : resolve(values[k]))),
      ),
    );
  },
};

describe("store steps", () => {
  it("runs an algorithm synchronously over a store whose queries return at once", () => {
    assert.equal(runSync(sumOf(syncSource, ["a", "b", "c"])), 6);
    assert.throws(() => runSync(sumOf(syncSource, ["a", "x"])), /no x/);
  });

  it("refuses to run a step that suspends synchronously (it would escape a SQLite transaction)", () => {
    assert.throws(() => runSync(sumOf(asyncSource, ["a"])), /suspended/);
  });

  it("awaits each yielded promise and sends its value back in", async () => {
    assert.equal(await runAsync(sumOf(asyncSource, ["a", "b", "c"])), 6);
    assert.equal(await runAsync(sumOf(syncSource, ["b"])), 2);
  });

  it("throws a rejected query into the algorithm, where it can be caught", async () => {
    await assert.rejects(runAsync(sumOf(asyncSource, ["a", "x"])), /no x/);
    function* recovering(): Step<string> {
      try {
        yield* asyncSource.get("x");
        return "not reached";
      } catch (err) {
        return `caught ${(err as Error).message}`;
      }
    }
    assert.equal(await runAsync(recovering()), "caught no x");
  });
});
