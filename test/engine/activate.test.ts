// The engine's entry point: what a turn does (turnStart) and one whole turn through activate().
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrchestrationContext } from "../../src/orchestration/context.js";
import type { OrchestrationHandler } from "../../src/orchestration/handler.js";
import { activate, turnStart, type TurnBegin, type TurnInput } from "../../src/orchestration/engine.js";
import type { WorkItem, WorkItemOf } from "../../src/model/workItems.js";
import { History, INSTANCE, activityDone, cancelInstance, newExecution, raised, types } from "./helpers.js";

const start = (parent = false): WorkItemOf<"StartOrchestration"> => ({
  type: "StartOrchestration",
  instance: INSTANCE,
  orchestration: "Orch",
  input: "3",
  version: null,
  parent: parent ? { parentInstance: "p", parentId: 7, parentExecutionId: 2 } : null,
  executionId: 1,
});
const continued: WorkItemOf<"ContinueAsNew"> = {
  type: "ContinueAsNew",
  instance: INSTANCE,
  orchestration: "Orch",
  input: "4",
  version: "1.0.0",
  carryForwardEvents: [],
  initialCustomStatus: null,
  parent: null,
};

test("turnStart: a start begins execution 1, a continue-as-new the next one, a running one resumes", () => {
  const s = start();
  assert.deepEqual(turnStart([], 1, [raised("e", 1), s]), { kind: "begin", start: s, executionId: 1 });
  assert.deepEqual(turnStart([], 1, [raised("e", 1)]), { kind: "idle" });

  const running = new History();
  running.started(3);
  assert.deepEqual(turnStart(running.events, 1, [s, raised("e", 1)]), { kind: "resume" });

  const asNew = new History();
  asNew.started(3);
  asNew.add({ type: "OrchestrationContinuedAsNew", input: "4" });
  assert.deepEqual(turnStart(asNew.events, 1, [continued]), { kind: "begin", start: continued, executionId: 2 });
  assert.deepEqual(turnStart(asNew.events, 1, [raised("e", 1)]), { kind: "finished" });

  const done = new History();
  done.started(3);
  done.add({ type: "OrchestrationCompleted", output: "1" });
  assert.deepEqual(turnStart(done.events, 1, [continued]), { kind: "finished" });
});

function input(handler: OrchestrationHandler, over: Partial<TurnInput>, begins: TurnBegin[] = []): TurnInput {
  return {
    instance: INSTANCE,
    executionId: 1,
    history: [],
    messages: [],
    resolve: (name, version) => (name === "Orch" ? { version: version ?? "1.0.0", handler } : null),
    create: (x) => newExecution(x.handler, { executionId: x.executionId, name: x.name, version: x.version }),
    onBegin: (_x, b) => {
      begins.push(b);
      return undefined;
    },
    ...over,
  };
}

test("activate: one call runs a turn, from a start, from stored history, and on the cached execution", async () => {
  const orch = async (ctx: OrchestrationContext, n: number) => {
    const a = await ctx.scheduleActivity<number>("Double", n);
    return a + 1;
  };
  const begins: TurnBegin[] = [];
  const first = await activate(input(orch, { messages: [start(), raised("early", 1)] }, begins));
  assert.equal(first.kind, "ran");
  if (first.kind !== "ran") return;
  assert.deepEqual(types(first.result.delta), ["OrchestrationStarted", "ActivityScheduled", "ExternalEvent"]);
  assert.deepEqual(first.began, { name: "Orch", version: "1.0.0", initiatedBy: "client" });
  assert.equal(first.result.workerItems.length, 1);
  first.execution.commit();

  // Cold: the stored history replays, then the completion is delivered.
  const cold = await activate(input(orch, { history: first.result.delta, messages: [activityDone(2, 6)] }, begins));
  assert.ok(cold.kind === "ran" && cold.result.status === "Completed" && cold.result.output === "7" && cold.began === null);

  // Warm: the cached execution takes the same message without replay.
  const warm = await activate(input(orch, { cached: first.execution, messages: [activityDone(2, 6)] }, begins));
  assert.ok(warm.kind === "ran" && warm.execution === first.execution && warm.result.output === "7");
  assert.deepEqual(
    begins.map((b) => ("newExecution" in b ? "new" : "existing")),
    ["new", "existing", "existing"],
  );
});

test("activate: nothing runs for a finished execution (a parent's duplicate start is rejected), an unregistered name or a corrupt history", async () => {
  const orch = async () => 1;
  const done = new History();
  done.started(3);
  done.add({ type: "OrchestrationCompleted", output: "1" });
  const finished = await activate(input(orch, { history: done.events, messages: [start(true), cancelInstance("x")] }));
  assert.equal(finished.kind, "nothing");
  const items: WorkItem[] = finished.kind === "nothing" ? finished.orchestratorItems : [];
  assert.deepEqual(
    items.map((i) => i.type === "SubOrchFailed" && [i.parentInstance, i.parentId, i.parentExecutionId]),
    [["p", 7, 2]],
  );

  const other = await activate(input(orch, { messages: [{ ...start(), orchestration: "Missing" }] }));
  assert.deepEqual(other, { kind: "unregistered", name: "Missing", version: null });

  const corrupt = new History();
  corrupt.add({ type: "TimerCreated", fireAtMs: 1 });
  assert.equal((await activate(input(orch, { history: corrupt.events }))).kind, "corrupt");
});
