import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError, Runtime, SqliteProvider, type OrchestrationContext } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

describe(`[${kind}] bad input gets a clear, typed error and stores nothing`, () => {
  it("client arguments", async () => {
    const h = await harness((rt) => rt.registerOrchestration("O", async () => 1), {}, kind);
    try {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await assert.rejects(h.client.startOrchestration("", "O"), InvalidArgumentError);
      await assert.rejects(h.client.startOrchestration("x", ""), InvalidArgumentError);
      await assert.rejects(h.client.startOrchestration("x", "O", circular), /cannot be stored as JSON: the value refers to itself \(a cycle\) at \$\.self/);
      await assert.rejects(h.client.startOrchestration("x", "O", 10n), InvalidArgumentError);
      await assert.rejects(h.client.startOrchestrationVersioned("x", "O", null, "v1"), /semver/);
      assert.deepEqual(await h.client.getStatus("x"), { status: "NotFound", customStatusVersion: 0 });
      // A good start after the bad ones works: nothing was stored by them.
      await h.client.startOrchestration("x", "O");
      assert.equal((await h.client.waitForOrchestration("x", 5_000)).output, 1);
    } finally {
      await h.close();
    }
  });

  it("runtime registration and options", async () => {
    const p = await SqliteProvider.inMemory();
    try {
      assert.throws(() => new Runtime(p, { orchestrationConcurrency: -1 }), InvalidArgumentError);
      assert.throws(() => new Runtime(p, { workerConcurrency: 1.5 }), InvalidArgumentError);
      assert.throws(() => new Runtime(p, { orchestrationConcurrency: 0, workerConcurrency: 0 }), /cannot both be 0/);
      assert.throws(() => new Runtime(p, { workerTagFilter: { tags: ["a", "b", "c", "d", "e", "f"] } }), /at most 5/);
      const rt = new Runtime(p);
      assert.throws(() => rt.registerOrchestrationVersioned("O", "1.x", async () => 1), /semver/);
      rt.registerActivity("A", async () => 1);
      assert.throws(() => rt.registerActivity("A", async () => 1), /already registered/);
      assert.throws(() => rt.registerActivity("__duroxide_syscall:x", async () => 1), /reserved/);
      assert.throws(() => rt.registerOrchestration("", async () => 1), InvalidArgumentError);
    } finally {
      await p.close();
    }
  });

  it("orchestration code: bad arguments fail the instance with a clear message", async () => {
    const h = await harness((rt) => {
      rt.registerOrchestration("BadTimer", async (ctx: OrchestrationContext) => ctx.scheduleTimer(5.5));
      rt.registerOrchestration("BadOutput", async () => 10n);
      rt.registerOrchestration("BadYield", function* () {
        yield 42;
      });
      rt.registerOrchestration("OutOfTurn", async (ctx: OrchestrationContext) => {
        await new Promise((r) => setTimeout(r, 20));
        return ctx.scheduleActivity("Nope");
      });
    }, {}, kind);
    try {
      for (const [id, name, pattern] of [
        ["t", "BadTimer", /timer delay must be a non-negative integer/],
        ["o", "BadOutput", /orchestration output cannot be stored as JSON: a BigInt/],
        ["y", "BadYield", /Invalid generator step result/],
      ] as const) {
        await h.client.startOrchestration(id, name);
        const r = await h.client.waitForOrchestration(id, 5_000);
        assert.equal(r.status, "Failed", name);
        assert.match(r.error ?? "", pattern);
      }
      await h.client.startOrchestration("ot", "OutOfTurn");
      const r = await h.client.waitForOrchestration("ot", 5_000);
      assert.equal(r.status, "Failed");
      assert.match(r.error ?? "", /nondeterministic: (.*not a durable task|setTimeout\(\) is not allowed in orchestration code)/);
    } finally {
      await h.close();
    }
  });
});

}
