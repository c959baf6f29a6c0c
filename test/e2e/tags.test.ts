import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError, Runtime, SqliteProvider, type OrchestrationContext, type WorkerTagFilter } from "../../src/index.js";
import { harness, PROVIDERS } from "./harness.js";
import { SharedStore, until } from "./multi.js";

for (const kind of PROVIDERS) {

describe(`[${kind}] activity tags`, () => {
  const cases: Array<[string, WorkerTagFilter | undefined, number[]]> = [
    ["default (defaultOnly)", undefined, [0, 1, 1]],
    ["defaultOnly", "defaultOnly", [0, 1, 1]],
    ["{ tags: [gpu] }", { tags: ["gpu"] }, [1, 0, 1]],
    ["{ defaultAnd: [gpu] }", { defaultAnd: ["gpu"] }, [0, 0, 1]],
    ["any", "any", [0, 0, 0]],
    ["none (orchestrator-only)", "none", [1, 1, 1]],
  ];
  for (const [label, filter, expected] of cases) {
    it(`workerTagFilter ${label}: runs exactly the matching activities`, async () => {
      const seenTags: Array<string | null> = [];
      const h = await harness(
        (rt) => {
          rt.registerActivity("Job", async (ctx) => {
            seenTags.push(ctx.tag());
            return "ran";
          });
          rt.registerOrchestration("Route", async (ctx: OrchestrationContext) => {
            const plain = ctx.race(ctx.scheduleActivity("Job"), ctx.scheduleTimer(400));
            const gpu = ctx.race(ctx.scheduleActivity("Job").withTag("gpu"), ctx.scheduleTimer(400));
            const cpu = ctx.race(ctx.scheduleActivity("Job", null, { tag: "cpu" }), ctx.scheduleTimer(400));
            const rs = await ctx.join([plain, gpu, cpu]);
            return rs.map((r) => r.index);
          });
        },
        filter === undefined ? {} : { workerTagFilter: filter }, kind
      );
      try {
        await h.client.startOrchestration("route", "Route");
        const r = await h.client.waitForOrchestration("route", 5_000);
        assert.deepEqual(r.output, expected);
        const tags = ["", "gpu", "cpu"].filter((_t, i) => expected[i] === 0).map((t) => (t === "" ? null : t));
        assert.deepEqual(seenTags.slice().sort(), tags.slice().sort());
        const hist = await h.client.readHistory("route");
        const sched = hist.filter((e) => e.type === "ActivityScheduled") as Array<{ tag?: string }>;
        assert.deepEqual(sched.map((e) => e.tag ?? null), [null, "gpu", "cpu"], "the tag is part of history");
      } finally {
        await h.close();
      }
    });
  }

  it("filter validation: at most 5 tags, none empty", async () => {
    const p = await SqliteProvider.inMemory();
    try {
      assert.throws(() => new Runtime(p, { workerTagFilter: { tags: ["a", "b", "c", "d", "e", "f"] } }), InvalidArgumentError);
      assert.throws(() => new Runtime(p, { workerTagFilter: { defaultAnd: ["a", "b", "c", "d", "e", "f"] } }), InvalidArgumentError);
      assert.throws(() => new Runtime(p, { workerTagFilter: { tags: [] } }), InvalidArgumentError);
      assert.throws(() => new Runtime(p, { workerTagFilter: "some" as never }), InvalidArgumentError);
      new Runtime(p, { workerTagFilter: { tags: ["a", "b", "c", "d", "e"] } });
      new Runtime(p, { workerTagFilter: { defaultAnd: ["a"] } });
    } finally {
      await p.close();
    }
  });

  it("changing an activity's tag in code is a nondeterminism error on replay (restart on the same store)", async () => {
    const store = new SharedStore(kind);
    try {
      const client = await store.client();
      const code = (tag: string) => async (ctx: OrchestrationContext) => ctx.scheduleActivity("Job").withTag(tag);
      const a = await store.node((rt) => {
        rt.registerActivity("Job", async () => "ran");
        rt.registerOrchestration("Tagged", code("gpu"));
      }); // defaultOnly: nobody runs the gpu activity here
      await client.startOrchestration("t", "Tagged");
      await until(async () => (await client.readHistory("t")).some((e) => e.type === "ActivityScheduled"), 5_000, "scheduled");
      await a.stop();
      await store.node(
        (rt) => {
          rt.registerActivity("Job", async () => "ran");
          rt.registerOrchestration("Tagged", code("cpu")); // the code changed
        },
        { workerTagFilter: "any" },
      );
      const r = await client.waitForOrchestration("t", 5_000);
      assert.equal(r.status, "Failed");
      assert.match(r.error ?? "", /^nondeterministic: .*tagged 'gpu'.*tagged 'cpu'/);
      const st = await client.getInstanceState("t");
      assert.equal(st.failure?.category(), "configuration");
    } finally {
      await store.close();
    }
  });
});

}
