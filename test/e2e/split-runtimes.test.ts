// orchestrationConcurrency: 0 is a worker-only runtime and workerConcurrency: 0 an orchestrator-only
// one: two such runtimes on one SQLite file (each on its own provider object, as two processes
// would be) split the work between them, and neither does the other's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/index.js";
import { SharedStore, sleep } from "./multi.js";

describe("worker-only and orchestrator-only runtimes", () => {
  it("a worker-only runtime runs activities and no turns; an orchestrator-only runtime runs turns and no activities", async () => {
    const store = new SharedStore("sqlite");
    try {
      const ran: string[] = [];
      const orchestrator = await store.node(
        (rt) => {
          rt.registerOrchestration("Split", async (ctx: OrchestrationContext, n: number) => {
            const a = await ctx.scheduleActivity<number>("Double", n);
            return a + 1;
          });
          // Registered here too, but this runtime must never run it.
          rt.registerActivity("Double", async () => {
            ran.push("orchestrator-only");
            return -1;
          });
        },
        { workerConcurrency: 0 },
      );
      const client = await store.client();
      await client.startOrchestration("s1", "Split", 20);

      // Without a worker the activity stays queued.
      await sleep(400);
      assert.equal(ran.length, 0, "the orchestrator-only runtime ran no activity");
      assert.equal((await client.getQueueDepths()).workerQueue, 1, "the activity waits for a worker");

      const worker = await store.node(
        (rt) => {
          rt.registerActivity("Double", async (_ctx, n: number) => {
            ran.push("worker-only");
            return n * 2;
          });
        },
        { orchestrationConcurrency: 0 },
      );
      const r = await client.waitForOrchestration("s1", 10_000);
      assert.equal(r.status, "Completed");
      assert.equal(r.output, 41);
      assert.deepEqual(ran, ["worker-only"]);
      assert.equal(orchestrator.runtime.metricsSnapshot().workerDispatcherItemsFetched, 0, "the orchestrator-only runtime fetched no activity");
      assert.equal(worker.runtime.metricsSnapshot().orchDispatcherItemsFetched, 0, "the worker-only runtime fetched no turn");

      // With the orchestrator gone, a new start is not run by the worker-only runtime.
      await orchestrator.stop();
      await client.startOrchestration("s2", "Split", 1);
      await sleep(400);
      assert.equal((await client.getStatus("s2")).status, "NotFound", "no turn ran: the instance does not exist yet");
      assert.equal((await client.getQueueDepths()).orchestratorQueue, 1, "the start waits for an orchestrator");
      await worker.stop();
    } finally {
      await store.close();
    }
  });
});
