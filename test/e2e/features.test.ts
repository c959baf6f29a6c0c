import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ActivityFailedError,
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InvalidArgumentError,
  TimeoutError,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

for (const replayEveryTurn of [false, true]) {
  describe(`[${kind}] features (replayEveryTurn=${replayEveryTurn})`, () => {
    it("sub-orchestrations: auto id and explicit id; parent gets results and failures", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Square", async (_c, n: number) => n * n);
          rt.registerOrchestration("Child", async (ctx: OrchestrationContext, n: number) => {
            if (n < 0) throw new Error(`negative ${n}`);
            return await ctx.scheduleActivity("Square", n);
          });
          rt.registerOrchestration("Parent", async (ctx: OrchestrationContext) => {
            const a = await ctx.scheduleSubOrchestration<number>("Child", 3);
            const b = await ctx.scheduleSubOrchestrationWithId<number>("Child", "explicit-child", 4);
            let err = "";
            try {
              await ctx.scheduleSubOrchestration("Child", -1);
            } catch (e) {
              err = (e as Error).message;
            }
            return { a, b, err };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("p1", "Parent");
        const r = await h.client.waitForOrchestration("p1", 5_000);
        assert.equal(r.status, "Completed");
        assert.deepEqual(r.output, { a: 9, b: 16, err: "negative -1" });
        const child = await h.client.getStatus("p1::sub::2");
        assert.equal(child.status, "Completed");
        assert.equal((await h.client.getStatus("explicit-child")).status, "Completed");
        const info = await h.client.getInstanceInfo("explicit-child");
        assert.equal(info.parentInstanceId, "p1");
      } finally {
        await h.close();
      }
    });

    it("sub-orchestration with an explicit id already in use: the parent gets a failure, never hangs", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Child", async (ctx: OrchestrationContext, tag: string) => {
            if (tag === "slow") await ctx.waitForEvent("go");
            return tag;
          });
          rt.registerOrchestration("Parent", async (ctx: OrchestrationContext, tag: string) => {
            try {
              return await ctx.scheduleSubOrchestrationWithId("Child", "taken", tag);
            } catch (e) {
              return `failed: ${(e as Error).message}`;
            }
          });
        },
        { replayEveryTurn },
        kind,
      );
      try {
        await h.client.startOrchestration("first", "Parent", "slow");
        const deadline = Date.now() + 5_000;
        while ((await h.client.getStatus("taken")).status !== "Running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        // While the child runs, and after it finished: the second parent is told the id is taken.
        await h.client.startOrchestration("second", "Parent", "other");
        assert.equal((await h.client.waitForOrchestration("second", 5_000)).output, "failed: sub-orchestration instance 'taken' already exists");
        await h.client.raiseEvent("taken", "go");
        assert.equal((await h.client.waitForOrchestration("first", 5_000)).output, "slow");
        await h.client.startOrchestration("third", "Parent", "again");
        assert.equal((await h.client.waitForOrchestration("third", 5_000)).output, "failed: sub-orchestration instance 'taken' already exists");
      } finally {
        await h.close();
      }
    });

    it("continue-as-new: new execution ids, final output from the last execution", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Counter", async (ctx: OrchestrationContext, n: number) => {
            await ctx.scheduleTimer(1);
            if (n < 3) return ctx.continueAsNew(n + 1);
            return { n, execution: ctx.executionId };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("can1", "Counter", 0);
        const r = await h.client.waitForOrchestration("can1", 5_000);
        assert.deepEqual(r.output, { n: 3, execution: 4 });
        assert.deepEqual(await h.client.listExecutions("can1"), [1, 2, 3, 4]);
      } finally {
        await h.close();
      }
    });

    it("external events: raised right after start (before the wait) are kept, in order", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Slow", async () => {
            await new Promise((r) => setTimeout(r, 50));
            return "ok";
          });
          rt.registerOrchestration("Waiter", async (ctx: OrchestrationContext) => {
            await ctx.scheduleActivity("Slow");
            const a = await ctx.waitForEvent<string>("Go");
            const b = await ctx.waitForEvent<{ x: number }>("Go");
            return [a, b];
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("ev1", "Waiter");
        await h.client.raiseEvent("ev1", "Go", "first");
        await h.client.raiseEvent("ev1", "Go", { x: 2 });
        const r = await h.client.waitForOrchestration("ev1", 5_000);
        assert.deepEqual(r.output, ["first", { x: 2 }]);
      } finally {
        await h.close();
      }
    });

    it("race: timer beats a slow activity, which is withdrawn and signalled", async () => {
      let sawAbort = false;
      const h = await harness(
        (rt) => {
          rt.registerActivity("Forever", async (ctx) => {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, 5_000);
              ctx.signal.addEventListener("abort", () => {
                sawAbort = true;
                clearTimeout(t);
                resolve();
              });
            });
            return "late";
          });
          rt.registerOrchestration("Racer", async (ctx: OrchestrationContext) => {
            const w = await ctx.race(ctx.scheduleActivity("Forever"), ctx.scheduleTimer(50));
            return w.index;
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("r1", "Racer");
        const r = await h.client.waitForOrchestration("r1", 5_000);
        assert.equal(r.output, 1);
        const history = await h.client.readHistory("r1");
        assert.ok(history.some((e) => e.type === "ActivityCancelRequested"), "loser breadcrumb recorded");
        const deadline = Date.now() + 2_000;
        while (!sawAbort && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.ok(sawAbort, "running activity was signalled");
      } finally {
        await h.close();
      }
    });

    it("cancelInstance: instance and its running child end Failed with canceled:", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Sleeper", async (ctx: OrchestrationContext) => {
            await ctx.waitForEvent("never");
          });
          rt.registerOrchestration("Top", async (ctx: OrchestrationContext) => {
            await ctx.scheduleSubOrchestrationWithId("Sleeper", "top-child");
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("top", "Top");
        // wait until the child runs
        const deadline = Date.now() + 3_000;
        while ((await h.client.getStatus("top-child")).status !== "Running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        await h.client.cancelInstance("top", "user said stop");
        const r = await h.client.waitForOrchestration("top", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(r.error, "canceled: user said stop");
        const c = await h.client.waitForOrchestration("top-child", 5_000);
        assert.equal(c.status, "Failed");
        assert.equal(c.error, "canceled: parent canceled");
      } finally {
        await h.close();
      }
    });

    it("errors: activity failure is catchable; uncaught error fails the instance", async () => {
      const h = await harness(
        (rt) => {
          rt.registerActivity("Boom", async () => {
            throw new Error("boom-msg");
          });
          rt.registerOrchestration("Catcher", async (ctx: OrchestrationContext) => {
            try {
              await ctx.scheduleActivity("Boom");
              return "no";
            } catch (e) {
              return { caught: (e as Error).message, typed: e instanceof ActivityFailedError };
            }
          });
          rt.registerOrchestration("Thrower", async () => {
            throw new Error("orch-boom");
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("e1", "Catcher");
        assert.deepEqual((await h.client.waitForOrchestration("e1", 5_000)).output, { caught: "boom-msg", typed: true });
        await h.client.startOrchestration("e2", "Thrower");
        const r = await h.client.waitForOrchestration("e2", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(r.error, "orch-boom");
        const st = await h.client.getInstanceState("e2");
        assert.equal(st.failure?.category(), "application");
      } finally {
        await h.close();
      }
    });

    it("detached starts, newGuid and utcNow", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Detached", async (_ctx: OrchestrationContext, x: string) => `detached:${x}`);
          rt.registerOrchestration("Starter", async (ctx: OrchestrationContext) => {
            const g = await ctx.newGuid();
            const t = await ctx.utcNow();
            await ctx.startOrchestration("Detached", `d-${ctx.instanceId}`, "hi");
            await ctx.scheduleTimer(1);
            return { g: typeof g, t: typeof t, same: g === (await ctx.newGuid()) };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("s1", "Starter");
        assert.deepEqual((await h.client.waitForOrchestration("s1", 5_000)).output, { g: "string", t: "number", same: false });
        assert.equal((await h.client.waitForOrchestration("d-s1", 5_000)).output, "detached:hi");
      } finally {
        await h.close();
      }
    });
  });
}

describe(`[${kind}] client contract`, () => {
  it("duplicate start, unknown instance, timeout, typed wait", async () => {
    const h = await harness((rt) => {
      rt.registerOrchestration("Wait", async (ctx: OrchestrationContext) => ctx.waitForEvent("x"));
    }, {}, kind);
    try {
      await h.client.startOrchestration("dup", "Wait");
      // The id is the idempotency key: a second start resolves (duroxide-node) unless asked to fail.
      await h.client.startOrchestration("dup", "Other", "different input");
      await assert.rejects(h.client.startOrchestration("dup", "Wait", null, { ifExists: "fail" }), InstanceAlreadyExistsError);
      await assert.rejects(
        h.client.startOrchestration("dup", "Wait", null, { ifExists: "sometimes" as "fail" }),
        (e: unknown) => e instanceof InvalidArgumentError && /ifExists/.test((e as Error).message),
      );
      await assert.rejects(h.client.raiseEvent("nope", "x", 1), InstanceNotFoundError);
      await assert.rejects(h.client.cancelInstance("nope"), InstanceNotFoundError);
      await assert.rejects(h.client.waitForOrchestration("dup", 50), (e: unknown) => e instanceof TimeoutError && (e as Error).message === "Operation timed out");
      await assert.rejects(h.client.waitForOrchestration("missing", 30), TimeoutError);
      assert.deepEqual(await h.client.getStatus("missing"), { status: "NotFound", customStatusVersion: 0 });
      await h.client.raiseEvent("dup", "x", { v: 1 });
      assert.deepEqual(await h.client.waitForOrchestrationTyped<{ v: number }>("dup", 5_000), { v: 1 });
      await h.client.startOrchestration("dup", "Wait", "again");
      await assert.rejects(h.client.startOrchestrationVersioned("dup", "Wait", null, "1.0.0", { ifExists: "fail" }), InstanceAlreadyExistsError);
      const s = await h.client.getStatus("dup");
      assert.equal(s.output, '{"v":1}');
      assert.equal(s.status, "Completed");
      // The ignored starts changed nothing: one execution, started with the first start's input.
      const info = await h.client.getInstanceInfo("dup");
      assert.equal(info.orchestrationName, "Wait");
      assert.equal(info.currentExecutionId, 1);
    } finally {
      await h.close();
    }
  });

  it("versioning: new instances get the latest version; running ones stay on theirs", async () => {
    const h = await harness((rt) => {
      rt.registerOrchestrationVersioned("V", "1.0.0", async (ctx: OrchestrationContext) => `v1:${ctx.orchestrationVersion}`);
      rt.registerOrchestrationVersioned("V", "2.1.0", async (ctx: OrchestrationContext) => `v2:${ctx.orchestrationVersion}`);
      rt.registerOrchestrationVersioned("V", "1.5.0", async (ctx: OrchestrationContext) => `v15:${ctx.orchestrationVersion}`);
    }, {}, kind);
    try {
      await h.client.startOrchestration("v-latest", "V");
      await h.client.startOrchestrationVersioned("v-old", "V", null, "1.0.0");
      assert.equal((await h.client.waitForOrchestration("v-latest", 5_000)).output, "v2:2.1.0");
      assert.equal((await h.client.waitForOrchestration("v-old", 5_000)).output, "v1:1.0.0");
    } finally {
      await h.close();
    }
  });
});

}
