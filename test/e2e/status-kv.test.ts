import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_CUSTOM_STATUS_BYTES,
  MAX_KV_KEYS,
  MAX_KV_VALUE_BYTES,
  TimeoutError,
  type OrchestrationContext,
} from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";

for (const kind of PROVIDERS) {

for (const replayEveryTurn of [false, true]) {
  describe(`[${kind}] custom status (replayEveryTurn=${replayEveryTurn})`, () => {
    it("version counts acks with a status change; reset clears; waitForStatusChange wakes; timeout rejects", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Progress", async (ctx: OrchestrationContext) => {
            ctx.setCustomStatus("step 1");
            ctx.setCustomStatus("step 2"); // same turn: one version bump
            const seen1 = ctx.getCustomStatus();
            await ctx.waitForEvent("go");
            ctx.resetCustomStatus();
            const seen2 = ctx.getCustomStatus();
            await ctx.waitForEvent("go");
            ctx.setCustomStatus("done");
            return { seen1, seen2 };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("p1", "Progress");
        const s1 = await h.client.waitForStatusChange("p1", 0, 10, 5_000);
        assert.equal(s1.customStatus, "step 2");
        assert.equal(s1.customStatusVersion, 1);
        await assert.rejects(h.client.waitForStatusChange("p1", 1, 10, 100), TimeoutError);
        await h.client.raiseEvent("p1", "go");
        const s2 = await h.client.waitForStatusChange("p1", 1, 10, 5_000);
        assert.equal(s2.customStatusVersion, 2);
        assert.equal(s2.customStatus, undefined);
        await h.client.raiseEvent("p1", "go");
        const r = await h.client.waitForOrchestration("p1", 5_000);
        assert.deepEqual(r.output, { seen1: "step 2", seen2: null });
        assert.equal(r.customStatus, "done");
        assert.equal(r.customStatusVersion, 3);
        const hist = await h.client.readHistory("p1");
        assert.equal(hist.filter((e) => e.type === "CustomStatusUpdated").length, 4, "durable history events");
      } finally {
        await h.close();
      }
    });

    it("carried across continue-as-new", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Loop", async (ctx: OrchestrationContext, n: number) => {
            const before = ctx.getCustomStatus();
            if (n === 0) {
              ctx.setCustomStatus("from execution 1");
              await ctx.scheduleTimer(1);
              return ctx.continueAsNew(1);
            }
            await ctx.waitForEvent("go");
            return before;
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("l1", "Loop", 0);
        const deadline = Date.now() + 5_000;
        while ((await h.client.listExecutions("l1")).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        const mid = await h.client.getStatus("l1");
        assert.equal(mid.status, "Running");
        assert.equal(mid.customStatus, "from execution 1");
        await h.client.raiseEvent("l1", "go");
        const r = await h.client.waitForOrchestration("l1", 5_000);
        assert.equal(r.output, "from execution 1");
        assert.equal(r.customStatus, "from execution 1");
      } finally {
        await h.close();
      }
    });

    it("a status over MAX_CUSTOM_STATUS_BYTES fails the orchestration with a clear message; at the limit is fine", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Big", async (ctx: OrchestrationContext, n: number) => {
            ctx.setCustomStatus("x".repeat(n));
            await ctx.scheduleTimer(1);
            return "ok";
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("ok", "Big", MAX_CUSTOM_STATUS_BYTES);
        assert.equal((await h.client.waitForOrchestration("ok", 5_000)).output, "ok");
        await h.client.startOrchestration("big", "Big", MAX_CUSTOM_STATUS_BYTES + 1);
        const r = await h.client.waitForOrchestration("big", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(r.error, `Custom status size (${MAX_CUSTOM_STATUS_BYTES + 1} bytes) exceeds limit (262144 bytes)`);
        assert.equal(r.customStatusVersion, 0, "the oversized status was never stored");
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${kind}] KV store (replayEveryTurn=${replayEveryTurn})`, () => {
    it("set/get/clear/clearAll, aliases, typed, keys/length, survives continue-as-new, readable after completion", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Kv", async (ctx: OrchestrationContext, n: number) => {
            if (n === 0) {
              ctx.setValue("a", "1");
              ctx.setKvValue("b", "2");
              ctx.setValueTyped("obj", { x: [1, 2] });
              ctx.setValue("gone", "x");
              ctx.clearKvValue("gone");
              await ctx.scheduleTimer(1);
              ctx.setValue("a", "1b");
              return ctx.continueAsNew(1);
            }
            const carried = { a: ctx.getValue("a"), b: ctx.getKvValue("b"), obj: ctx.getValueTyped<{ x: number[] }>("obj"), gone: ctx.getValue("gone") };
            const keys = ctx.getKvAllKeys().sort();
            const len = ctx.getKvLength();
            ctx.clearValue("b");
            ctx.setKvValueTyped("n", 5);
            const all = ctx.getKvAllValues();
            await ctx.waitForEvent("go");
            ctx.clearAllKvValues();
            ctx.setValue("final", "yes");
            return { carried, keys, len, all, typedN: ctx.getKvValueTyped<number>("n"), afterClear: ctx.getKvLength() };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("kv1", "Kv", 0);
        assert.equal(await h.client.waitForValue("kv1", "n", 5_000), "5");
        assert.deepEqual(await h.client.getKvAllValues("kv1"), { a: "1b", obj: '{"x":[1,2]}', n: "5" });
        await h.client.raiseEvent("kv1", "go");
        const r = await h.client.waitForOrchestration("kv1", 5_000);
        assert.deepEqual(r.output, {
          carried: { a: "1b", b: "2", obj: { x: [1, 2] }, gone: null },
          keys: ["a", "b", "obj"],
          len: 3,
          all: { a: "1b", obj: '{"x":[1,2]}', n: "5" },
          typedN: null,
          afterClear: 1,
        });
        assert.deepEqual(await h.client.getKvAllValues("kv1"), { final: "yes" });
        assert.equal(await h.client.getValue("kv1", "final"), "yes");
        assert.equal(await h.client.getValue("kv1", "a"), null);
      } finally {
        await h.close();
      }
    });

    it("value size limit: at the limit is fine, one byte over fails naming the key and sizes", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("V", async (ctx: OrchestrationContext, n: number) => {
            ctx.setValue("big", "é".repeat(n / 2)); // 2 bytes per char
            await ctx.scheduleTimer(1);
            return "ok";
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("fits", "V", MAX_KV_VALUE_BYTES);
        assert.equal((await h.client.waitForOrchestration("fits", 5_000)).output, "ok");
        await h.client.startOrchestration("over", "V", MAX_KV_VALUE_BYTES + 2);
        const r = await h.client.waitForOrchestration("over", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(r.error, `KV value for key 'big' (${MAX_KV_VALUE_BYTES + 2} bytes) exceeds limit (65536 bytes)`);
        assert.equal(await h.client.getValue("over", "big"), null);
      } finally {
        await h.close();
      }
    });

    it("key count limit counts keys across turns and executions; overwrite and clear-then-set are fine", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Keys", async (ctx: OrchestrationContext, phase: number) => {
            if (phase === 0) {
              for (let i = 0; i < 60; i++) ctx.setValue(`k${i}`, "v");
              await ctx.scheduleTimer(1);
              for (let i = 60; i < 100; i++) ctx.setValue(`k${i}`, "v");
              return ctx.continueAsNew(1);
            }
            for (let i = 100; i < 120; i++) ctx.setValue(`k${i}`, "v");
            await ctx.scheduleTimer(1);
            for (let i = 120; i < MAX_KV_KEYS; i++) ctx.setValue(`k${i}`, "v");
            ctx.setValue("k0", "overwrite is fine at capacity");
            ctx.clearValue("k1");
            ctx.setValue("replacement", "fits after a clear");
            await ctx.scheduleTimer(1);
            let caught = "";
            try {
              ctx.setValue("one-too-many", "v");
            } catch (e) {
              caught = (e as Error).message;
            }
            await ctx.waitForEvent("overflow");
            ctx.setValue("boom", "v");
            return caught;
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("keys", "Keys", 0);
        const deadline = Date.now() + 5_000;
        while (Object.keys(await h.client.getKvAllValues("keys")).length < MAX_KV_KEYS && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        await h.client.raiseEvent("keys", "overflow");
        const r = await h.client.waitForOrchestration("keys", 5_000);
        assert.equal(r.status, "Failed");
        assert.equal(r.error, "KV key count (151) exceeds limit (150) when setting key 'boom'");
        const kv = await h.client.getKvAllValues("keys");
        assert.equal(Object.keys(kv).length, MAX_KV_KEYS);
        assert.equal(kv.k0, "overwrite is fine at capacity");
        assert.equal(kv.replacement, "fits after a clear");
      } finally {
        await h.close();
      }
    });

    it("pruneKvValuesUpdatedBefore: set and pruned in the same turn replays identically", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Prune", async (ctx: OrchestrationContext) => {
            ctx.setValue("old", "1");
            await ctx.scheduleTimer(5);
            const cutoff = await ctx.utcNow();
            await ctx.scheduleTimer(5);
            ctx.setValue("tmp", "t");
            const prunedOld = ctx.pruneKvValuesUpdatedBefore(cutoff); // clears "old" only
            const prunedAll = ctx.pruneKvValuesUpdatedBefore(Number.MAX_SAFE_INTEGER); // "tmp", set this turn
            ctx.setValue("keep", "k");
            await ctx.scheduleTimer(1);
            await ctx.scheduleTimer(1);
            return { prunedOld, prunedAll, keys: ctx.getKvAllKeys() };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("pr", "Prune");
        const r = await h.client.waitForOrchestration("pr", 5_000);
        assert.equal(r.status, "Completed", r.error);
        assert.deepEqual(r.output, { prunedOld: 1, prunedAll: 1, keys: ["keep"] });
        assert.deepEqual(await h.client.getKvAllValues("pr"), { keep: "k" });
      } finally {
        await h.close();
      }
    });

    it("getValueFromInstance reads another instance's KV, recorded in history (null when absent)", async () => {
      const h = await harness(
        (rt) => {
          rt.registerOrchestration("Owner", async (ctx: OrchestrationContext) => {
            ctx.setValue("config", "blue");
            ctx.setValueTyped("n", { v: 7 });
            return "set";
          });
          rt.registerOrchestration("Reader", async (ctx: OrchestrationContext, other: string) => {
            const v = await ctx.getValueFromInstance(other, "config");
            const n = await ctx.getValueFromInstanceTyped<{ v: number }>(other, "n");
            const missing = await ctx.getKvValueFromInstance(other, "nope");
            await ctx.scheduleTimer(1);
            return { v, n, missing };
          });
        },
        { replayEveryTurn }, kind
      );
      try {
        await h.client.startOrchestration("owner", "Owner");
        await h.client.waitForOrchestration("owner", 5_000);
        await h.client.startOrchestration("reader", "Reader", "owner");
        const r = await h.client.waitForOrchestration("reader", 5_000);
        assert.deepEqual(r.output, { v: "blue", n: { v: 7 }, missing: null });
        const hist = await h.client.readHistory("reader");
        const sched = hist.filter((e) => e.type === "ActivityScheduled") as Array<{ name: string }>;
        assert.deepEqual(sched.map((e) => e.name), Array(3).fill("__duroxide_syscall:get_kv_value"));
        assert.equal(hist.filter((e) => e.type === "ActivityCompleted").length, 3);
      } finally {
        await h.close();
      }
    });
  });
}

}
