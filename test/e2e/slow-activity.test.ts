// A stuck activity holds its worker slot (nothing can pre-empt a promise); the runtime makes that
// visible: a warn log naming the activity at slowActivityWarningMs and at each doubling after, and
// the activitiesStuck gauge (metricsSnapshot, duroxide_activities_stuck) while it runs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LogRecord, OrchestrationContext } from "../../src/index.js";
import { harness } from "./harness.js";

describe("slow activity visibility", () => {
  it("an activity running past slowActivityWarningMs is reported, repeatedly, with its name", { timeout: 30_000 }, async () => {
    const records: LogRecord[] = [];
    const h = await harness(
      (rt) => {
        rt.registerActivity("Stuck", () => new Promise((r) => setTimeout(() => r("late"), 1_000)));
        rt.registerActivity("Quick", async () => "quick");
        rt.registerOrchestration("Both", async (ctx: OrchestrationContext) =>
          ctx.join([ctx.scheduleActivity("Stuck", null), ctx.scheduleActivity("Quick", null)]),
        );
      },
      { slowActivityWarningMs: 200, logLevel: "warn", logSink: (r: LogRecord) => void records.push(r) },
    );
    try {
      assert.equal(h.runtime.metricsSnapshot().activitiesStuck, 0);
      await h.client.startOrchestration("s-1", "Both", null);
      for (let i = 0; h.runtime.metricsSnapshot().activitiesStuck !== 1; i++) {
        assert.ok(i < 100, "the stuck activity is counted once it passes slowActivityWarningMs");
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((await h.client.waitForOrchestration("s-1", 10_000)).status, "Completed");
      assert.equal(h.runtime.metricsSnapshot().activitiesStuck, 0, "back to 0 once it finishes");
      const slow = records.filter((r) => /held its worker slot/.test(r.message));
      assert.ok(slow.length >= 2, `expected reports at 200 and 400 ms: ${JSON.stringify(records.map((r) => r.message))}`);
      assert.ok(slow.every((r) => r.fields["activity_name"] === "Stuck" && r.level === "warn"));
      assert.ok(Number(slow[0]!.fields["running_ms"]) >= 190);
    } finally {
      await h.close();
    }
  });
});
