// Provider conformance: management (ProviderAdmin) deletion, pruning, stats, trees and paging.
// Registered by `runProviderConformance`; every test gets a fresh provider.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  CannotDeleteSubOrchestrationError,
  InstanceNotFoundError,
  InstanceStillRunningError,
  InvalidArgumentError,
  ProviderError,
} from "../../model/errors.js";
import type { HistoryEvent } from "../../model/events.js";
import type { WorkItem } from "../../model/workItems.js";
import type { ProviderAdmin } from "../admin.js";
import type { ExecutionMetadata, Provider } from "../provider.js";
import { ORCH_NAME, ack, activityItem, bootstrap, event, external, fetchFor, sleep, started, startItem } from "./fixtures.js";
import type { ProviderFactory } from "./harness.js";

const LOCK = 5_000;

/** Runs one turn of `instance`: fetch, then ack `delta` with `metadata` and extras. */
async function turn(
  p: Provider,
  instance: string,
  executionId: number,
  delta: HistoryEvent[],
  metadata: Partial<ExecutionMetadata> = {},
  extra: { orchestratorItems?: WorkItem[]; workerItems?: WorkItem[] } = {},
): Promise<void> {
  const item = await fetchFor(p, instance, LOCK);
  await p.ackOrchestrationItem(item.lockToken, ack(executionId, { historyDelta: delta, metadata, ...extra }));
}

/** A later turn of an existing instance: queue a message so there is something to fetch. */
async function later(
  p: Provider,
  instance: string,
  executionId: number,
  delta: HistoryEvent[],
  metadata: Partial<ExecutionMetadata> = {},
): Promise<void> {
  await p.enqueueForOrchestrator(external(instance, "poke"));
  await turn(p, instance, executionId, delta, metadata);
}

function completedEvent(instance: string, exec: number, eventId: number, output = '"done"'): HistoryEvent {
  return event(instance, exec, eventId, { type: "OrchestrationCompleted", output });
}

/** A root instance that completes in its first turn. */
async function completedInstance(p: Provider, id: string, output = '"done"'): Promise<void> {
  await p.createInstance(startItem(id));
  await turn(p, id, 1, [started(id), completedEvent(id, 1, 2, output)], { status: "Completed", output });
}

/**
 * An instance with `n` executions: 1..n-1 ended ContinuedAsNew; the last is Completed (or left
 * Running with `lastRunning`). Each execution has 2 events (3 for the last completed one).
 */
async function chain(p: Provider, id: string, n: number, lastRunning = false): Promise<void> {
  await p.createInstance(startItem(id));
  for (let x = 1; x <= n; x++) {
    const isLast = x === n;
    const delta = [started(id, x, 1, `"in-${x}"`)];
    if (!isLast) {
      delta.push(event(id, x, 2, { type: "OrchestrationContinuedAsNew", input: `"in-${x + 1}"` }));
      const can: WorkItem = {
        type: "ContinueAsNew",
        instance: id,
        orchestration: ORCH_NAME,
        input: `"in-${x + 1}"`,
        version: null,
        carryForwardEvents: [],
        initialCustomStatus: null,
        parent: null,
      };
      await turn(p, id, x, delta, { status: "ContinuedAsNew", output: `"in-${x + 1}"` }, { orchestratorItems: [can] });
    } else if (lastRunning) {
      await turn(p, id, x, delta);
    } else {
      delta.push(event(id, x, 2, { type: "ActivityScheduled", name: "A", input: "1" }));
      delta.push(completedEvent(id, x, 3));
      await turn(p, id, x, delta, { status: "Completed", output: '"done"' });
    }
  }
}

/** root -> [child1 -> [grandchild], child2]; children started by acks as sub-orchestrations. */
async function tree(p: Provider, root: string, opts: { childrenDone?: boolean; rootDone?: boolean } = {}): Promise<string[]> {
  const c1 = `${root}::sub::2`;
  const c2 = `${root}::sub::3`;
  const g = `${c1}::sub::2`;
  await p.createInstance(startItem(root));
  await turn(p, root, 1, [started(root)], {}, { orchestratorItems: [startItem(c1, { parent: root }), startItem(c2, { parent: root })] });
  await turn(p, c1, 1, [started(c1, 1, 1, "{}", root)], { parentInstanceId: root }, { orchestratorItems: [startItem(g, { parent: c1 })] });
  await turn(p, c2, 1, [started(c2, 1, 1, "{}", root)], { parentInstanceId: root });
  await turn(p, g, 1, [started(g, 1, 1, "{}", c1)], { parentInstanceId: c1 });
  if (opts.childrenDone !== false) {
    for (const [id, ev] of [
      [g, 2],
      [c2, 2],
      [c1, 2],
    ] as const) {
      await later(p, id, 1, [completedEvent(id, 1, ev)], { status: "Completed", output: '"done"' });
    }
  }
  if (opts.rootDone !== false && opts.childrenDone !== false) {
    await later(p, root, 1, [completedEvent(root, 1, 2)], { status: "Completed", output: '"done"' });
  }
  return [root, c1, c2, g];
}

async function drainOrchestrator(p: Provider): Promise<void> {
  for (;;) {
    const item = await p.fetchOrchestrationItem(LOCK);
    if (item === null) return;
    await p.ackOrchestrationItem(item.lockToken, ack(item.executionId));
  }
}

export function runManagementConformance(name: string, factory: ProviderFactory): void {
  function test(title: string, fn: (p: Provider, admin: ProviderAdmin) => Promise<void>): void {
    it(title, async () => {
      const p = await factory.create();
      try {
        if (!p.admin) return;
        await fn(p, p.admin);
      } finally {
        if (factory.destroy) await factory.destroy(p);
        else await p.close();
      }
    });
  }

  describe(`provider conformance: ${name}: management`, () => {
    // ------------------------------------------------------------------------------------------
    describe("instance tree", () => {
      test("getInstanceTree lists the root and every descendant; unknown is not found", async (p, admin) => {
        const ids = await tree(p, "t");
        const t = await admin.getInstanceTree("t");
        assert.equal(t.rootId, "t");
        assert.equal(t.size, 4);
        assert.equal(t.allIds[0], "t");
        assert.deepEqual([...t.allIds].sort(), [...ids].sort());
        const sub = await admin.getInstanceTree("t::sub::2");
        assert.deepEqual(sub, { rootId: "t::sub::2", allIds: ["t::sub::2", "t::sub::2::sub::2"], size: 2 });
        await completedInstance(p, "lonely");
        assert.deepEqual(await admin.getInstanceTree("lonely"), { rootId: "lonely", allIds: ["lonely"], size: 1 });
        await assert.rejects(admin.getInstanceTree("nope"), InstanceNotFoundError);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("deleteInstance", () => {
      test("deletes a completed instance: every table, with exact counts", async (p, admin) => {
        await completedInstance(p, "done");
        await completedInstance(p, "keep");
        await p.enqueueForOrchestrator(external("done")); // a late message still queued
        await p.enqueueForWorker(activityItem("done", 9));
        const r = await admin.deleteInstance("done", false);
        assert.deepEqual(r, { instancesDeleted: 1, executionsDeleted: 1, eventsDeleted: 2, queueMessagesDeleted: 2 });
        assert.equal(await p.getStatus("done"), null);
        assert.deepEqual(await p.read("done"), []);
        assert.deepEqual(await admin.listExecutions("done"), []);
        assert.equal(await admin.getOrchestrationStats("done"), null);
        assert.deepEqual(await admin.listInstances(), ["keep"]);
        assert.equal((await admin.getQueueDepths()).workerQueue, 0);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "no message of the deleted instance survives");
        assert.equal((await p.getStatus("keep"))?.status, "Completed");
      });

      test("removes KV state (store and current delta)", async (p, admin) => {
        await p.createInstance(startItem("kv"));
        await turn(p, "kv", 1, [started("kv"), event("kv", 1, 2, { type: "KeyValueSet", key: "a", value: "1", lastUpdatedAtMs: 1 })], {
          status: "Completed",
          output: "null",
        });
        assert.equal(await p.getKvValue("kv", "a"), "1");
        await admin.deleteInstance("kv", false);
        assert.equal(await p.getKvValue("kv", "a"), null);
        assert.deepEqual(await p.getKvAllValues("kv"), {});
        // The id can be reused from scratch.
        await p.createInstance(startItem("kv"));
        await turn(p, "kv", 1, [started("kv")]);
        assert.deepEqual(await p.getKvAllValues("kv"), {});
        assert.equal((await p.getStatus("kv"))?.status, "Running");
      });

      test("refuses a running instance without force; force deletes it", async (p, admin) => {
        await bootstrap(p, "run", { workerItems: [activityItem("run", 2)] });
        await assert.rejects(admin.deleteInstance("run", false), (e: unknown) => {
          assert.ok(e instanceof InstanceStillRunningError);
          assert.match((e as Error).message, /Instance run is still running/);
          return true;
        });
        assert.equal((await p.getStatus("run"))?.status, "Running", "refusal changes nothing");
        const r = await admin.deleteInstance("run", true);
        assert.deepEqual(r, { instancesDeleted: 1, executionsDeleted: 1, eventsDeleted: 1, queueMessagesDeleted: 1 });
        assert.equal(await p.getStatus("run"), null);
      });

      test("an instance between executions (ContinuedAsNew) counts as running", async (p, admin) => {
        await p.createInstance(startItem("can"));
        const can: WorkItem = {
          type: "ContinueAsNew",
          instance: "can",
          orchestration: ORCH_NAME,
          input: "1",
          version: null,
          carryForwardEvents: [],
          initialCustomStatus: null,
          parent: null,
        };
        await turn(p, "can", 1, [started("can"), event("can", 1, 2, { type: "OrchestrationContinuedAsNew", input: "1" })], {
          status: "ContinuedAsNew",
          output: "1",
        }, { orchestratorItems: [can] });
        await assert.rejects(admin.deleteInstance("can", false), InstanceStillRunningError);
        assert.deepEqual(await admin.deleteInstanceBulk({}), { instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 });
        const r = await admin.deleteInstance("can", true);
        assert.equal(r.queueMessagesDeleted, 1, "the queued ContinueAsNew goes too");
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("cascades to the whole tree atomically; a sub-orchestration cannot be deleted directly", async (p, admin) => {
        const ids = await tree(p, "root");
        await completedInstance(p, "other");
        await assert.rejects(admin.deleteInstance("root::sub::2::sub::2", false), (e: unknown) => {
          assert.ok(e instanceof CannotDeleteSubOrchestrationError);
          assert.equal((e as CannotDeleteSubOrchestrationError).rootId, "root");
          assert.match((e as Error).message, /Cannot delete sub-orchestration root::sub::2::sub::2 directly.*root: root/);
          return true;
        });
        await assert.rejects(admin.deleteInstance("root::sub::3", true), CannotDeleteSubOrchestrationError);
        const r = await admin.deleteInstance("root", false);
        // root: started+completed; each child: started+completed.
        assert.deepEqual(r, { instancesDeleted: 4, executionsDeleted: 4, eventsDeleted: 8, queueMessagesDeleted: 0 });
        for (const id of ids) assert.equal(await p.getStatus(id), null, `${id} deleted`);
        assert.deepEqual(await admin.listInstances(), ["other"]);
      });

      test("a running descendant blocks a non-forced delete of the tree; nothing is deleted", async (p, admin) => {
        const ids = await tree(p, "r2", { childrenDone: false });
        // Root completes while children still run.
        await later(p, "r2", 1, [completedEvent("r2", 1, 2)], { status: "Completed", output: '"x"' });
        await assert.rejects(admin.deleteInstance("r2", false), InstanceStillRunningError);
        for (const id of ids) assert.ok(await p.getStatus(id), `${id} kept`);
        const r = await admin.deleteInstance("r2", true);
        assert.equal(r.instancesDeleted, 4);
      });

      test("unknown instance: not found", async (_p, admin) => {
        await assert.rejects(admin.deleteInstance("ghost", false), InstanceNotFoundError);
        await assert.rejects(admin.deleteInstance("ghost", true), InstanceNotFoundError);
      });

      test("an in-flight ack after a force delete fails and does not recreate the instance", async (p, admin) => {
        await bootstrap(p, "zombie");
        await p.enqueueForOrchestrator(external("zombie"));
        const item = await fetchFor(p, "zombie");
        await admin.deleteInstance("zombie", true);
        await assert.rejects(
          p.ackOrchestrationItem(
            item.lockToken,
            ack(1, {
              historyDelta: [event("zombie", 1, 2, { type: "ExternalEvent", name: "evt", data: '"data"' })],
              workerItems: [activityItem("zombie", 3)],
            }),
          ),
          ProviderError,
        );
        assert.equal(await p.getStatus("zombie"), null);
        assert.deepEqual(await p.read("zombie"), []);
        assert.equal(await p.fetchWorkItem(LOCK, { tagFilter: { kind: "any" } }), null);
        assert.deepEqual(await admin.listInstances(), []);
      });

      test("an in-flight activity ack after a force delete fails and enqueues nothing", async (p, admin) => {
        await bootstrap(p, "act", { workerItems: [activityItem("act", 2)] });
        const lease = await p.fetchWorkItem(LOCK, { tagFilter: { kind: "defaultOnly" } });
        assert.ok(lease);
        await admin.deleteInstance("act", true);
        await assert.rejects(
          p.ackWorkItem(lease.lockToken, { type: "ActivityCompleted", instance: "act", executionId: 1, id: 2, result: "1" }),
          ProviderError,
        );
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        assert.equal(await p.isActivityPending({ instance: "act", executionId: 1, activityId: 2 }), false);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("deleteInstanceBulk", () => {
      test("deletes terminal roots (with their trees); skips running ones and sub-orchestrations", async (p, admin) => {
        await completedInstance(p, "c1");
        await completedInstance(p, "c2");
        await bootstrap(p, "running");
        await p.createInstance(startItem("failed"));
        await turn(p, "failed", 1, [started("failed"), event("failed", 1, 2, { type: "OrchestrationFailed", details: { kind: "Application", category: "application", message: "boom" } as never })], {
          status: "Failed",
          failure: null,
        });
        await tree(p, "tr");
        const r = await admin.deleteInstanceBulk();
        assert.deepEqual(r, { instancesDeleted: 7, executionsDeleted: 7, eventsDeleted: 14, queueMessagesDeleted: 0 });
        assert.deepEqual(await admin.listInstances(), ["running"]);
      });

      test("filters: instanceIds (empty matches nothing), completedBefore, limit", async (p, admin) => {
        await completedInstance(p, "a");
        await completedInstance(p, "b");
        await sleep(20);
        const cut = Date.now();
        await sleep(20);
        await completedInstance(p, "c");
        await completedInstance(p, "d");
        const zero = { instancesDeleted: 0, executionsDeleted: 0, eventsDeleted: 0, queueMessagesDeleted: 0 };
        assert.deepEqual(await admin.deleteInstanceBulk({ instanceIds: [] }), zero);
        assert.deepEqual(await admin.deleteInstanceBulk({ instanceIds: ["d", "nope"] }), { ...zero, instancesDeleted: 1, executionsDeleted: 1, eventsDeleted: 2 });
        assert.deepEqual(await admin.deleteInstanceBulk({ completedBefore: cut }), { ...zero, instancesDeleted: 2, executionsDeleted: 2, eventsDeleted: 4 });
        assert.deepEqual(await admin.listInstances(), ["c"]);
        await completedInstance(p, "e");
        await completedInstance(p, "f");
        assert.equal((await admin.deleteInstanceBulk({ limit: 2 })).instancesDeleted, 2);
        assert.equal((await admin.listInstances()).length, 1);
        assert.equal((await admin.deleteInstanceBulk({ limit: 0 })).instancesDeleted, 0);
      });

      test("a terminal root whose child still runs is skipped", async (p, admin) => {
        await tree(p, "half", { childrenDone: false });
        await later(p, "half", 1, [completedEvent("half", 1, 2)], { status: "Completed", output: '"x"' });
        assert.equal((await admin.deleteInstanceBulk()).instancesDeleted, 0);
        assert.equal((await admin.getInstanceTree("half")).size, 4);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("pruneExecutions", () => {
      test("keeps only the current execution by default (keepLast absent, 0 and 1 alike)", async (p, admin) => {
        for (const [id, keepLast] of [
          ["p-none", undefined],
          ["p-zero", 0],
          ["p-one", 1],
        ] as const) {
          await chain(p, id, 4);
          const r = await admin.pruneExecutions(id, keepLast === undefined ? {} : { keepLast });
          assert.deepEqual(r, { instancesProcessed: 1, executionsDeleted: 3, eventsDeleted: 6 }, id);
          assert.deepEqual(await admin.listExecutions(id), [4]);
          assert.equal((await p.read(id)).length, 3, "current history intact");
          assert.equal((await p.getStatus(id))?.status, "Completed");
        }
      });

      test("keepLast N keeps the N newest; a second prune is a no-op", async (p, admin) => {
        await chain(p, "k", 5);
        assert.deepEqual(await admin.pruneExecutions("k", { keepLast: 3 }), { instancesProcessed: 1, executionsDeleted: 2, eventsDeleted: 4 });
        assert.deepEqual(await admin.listExecutions("k"), [3, 4, 5]);
        assert.deepEqual(await admin.pruneExecutions("k", { keepLast: 3 }), { instancesProcessed: 1, executionsDeleted: 0, eventsDeleted: 0 });
        assert.deepEqual(await admin.pruneExecutions("k", { keepLast: 10 }), { instancesProcessed: 1, executionsDeleted: 0, eventsDeleted: 0 });
      });

      test("completedBefore: only executions that completed before the cutoff", async (p, admin) => {
        await chain(p, "cb", 3);
        const cut = Date.now() - 60_000;
        assert.equal((await admin.pruneExecutions("cb", { completedBefore: cut })).executionsDeleted, 0);
        const r = await admin.pruneExecutions("cb", { completedBefore: Date.now() + 1 });
        assert.equal(r.executionsDeleted, 2);
        assert.deepEqual(await admin.listExecutions("cb"), [3]);
      });

      test("never touches the current (running) execution or KV state; running instances are prunable", async (p, admin) => {
        await chain(p, "live", 3, true);
        await p.createInstance(startItem("kvp"));
        await turn(p, "kvp", 1, [started("kvp"), event("kvp", 1, 2, { type: "KeyValueSet", key: "k", value: "v", lastUpdatedAtMs: 1 })], {
          status: "Completed",
          output: "null",
        });
        const r = await admin.pruneExecutions("live", {});
        assert.deepEqual(r, { instancesProcessed: 1, executionsDeleted: 2, eventsDeleted: 4 });
        assert.deepEqual(await admin.listExecutions("live"), [3]);
        assert.equal((await p.getStatus("live"))?.status, "Running");
        assert.deepEqual((await p.read("live")).map((e) => e.type), ["OrchestrationStarted"]);
        assert.deepEqual(await admin.pruneExecutions("kvp", {}), { instancesProcessed: 1, executionsDeleted: 0, eventsDeleted: 0 });
        assert.equal(await p.getKvValue("kvp", "k"), "v");
        await assert.rejects(admin.pruneExecutions("ghost", {}), InstanceNotFoundError);
      });

      test("rejects bad options", async (_p, admin) => {
        await assert.rejects(admin.pruneExecutions("x", { keepLast: -1 }), InvalidArgumentError);
      });

      test("pruneExecutionsBulk applies to matching instances and aggregates", async (p, admin) => {
        await chain(p, "b1", 3);
        await chain(p, "b2", 2, true);
        await chain(p, "b3", 4);
        await completedInstance(p, "single");
        const zero = { instancesProcessed: 0, executionsDeleted: 0, eventsDeleted: 0 };
        assert.deepEqual(await admin.pruneExecutionsBulk({ instanceIds: [] }, {}), zero);
        assert.deepEqual(await admin.pruneExecutionsBulk({ instanceIds: ["b3"] }, { keepLast: 2 }), {
          instancesProcessed: 1,
          executionsDeleted: 2,
          eventsDeleted: 4,
        });
        assert.deepEqual(await admin.pruneExecutionsBulk({}, {}), { instancesProcessed: 3, executionsDeleted: 4, eventsDeleted: 8 });
        for (const [id, cur] of [
          ["b1", 3],
          ["b2", 2],
          ["b3", 4],
          ["single", 1],
        ] as const)
          assert.deepEqual(await admin.listExecutions(id), [cur]);
        assert.deepEqual(await admin.pruneExecutionsBulk({}, {}), zero);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("getOrchestrationStats", () => {
      test("counts history events and bytes, queued messages and KV keys/bytes; null when missing", async (p, admin) => {
        assert.equal(await admin.getOrchestrationStats("missing"), null);
        await p.createInstance(startItem("s"));
        await turn(
          p,
          "s",
          1,
          [
            started("s"),
            event("s", 1, 2, { type: "KeyValueSet", key: "a", value: "12345", lastUpdatedAtMs: 1 }),
            event("s", 1, 3, { type: "KeyValueSet", key: "b", value: "xyz", lastUpdatedAtMs: 1 }),
          ],
          {},
          { workerItems: [activityItem("s", 4)] },
        );
        await p.enqueueForOrchestrator(external("s"));
        const st = await admin.getOrchestrationStats("s");
        assert.ok(st);
        assert.equal(st.historyEventCount, 3);
        const bytes = (await p.read("s")).reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
        assert.ok(st.historySizeBytes > 0 && Math.abs(st.historySizeBytes - bytes) <= bytes * 0.1, `${st.historySizeBytes} ~ ${bytes}`);
        assert.equal(st.queuePendingCount, 2);
        assert.equal(st.kvUserKeyCount, 2);
        assert.equal(st.kvTotalValueBytes, 8);
        // Clearing a key in the current execution shows at once.
        await turn(p, "s", 1, [event("s", 1, 4, { type: "KeyValueCleared", key: "a" })], {}, {});
        const st2 = await admin.getOrchestrationStats("s");
        assert.equal(st2?.kvUserKeyCount, 1);
        assert.equal(st2?.kvTotalValueBytes, 3);
        assert.equal(st2?.historyEventCount, 4);
        assert.equal(st2?.queuePendingCount, 1, "the external event was consumed; the activity is still queued");
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("listInstancesPage", () => {
      async function seed(p: Provider): Promise<string[]> {
        // 7 instances: 3 completed, 4 running; names alternate.
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          const id = `pg-${i}`;
          ids.push(id);
          await p.createInstance({ ...startItem(id), orchestration: i % 2 === 0 ? "Even" : "Odd" });
          const item = await fetchFor(p, id);
          const md: Partial<ExecutionMetadata> = { orchestrationName: i % 2 === 0 ? "Even" : "Odd" };
          const delta = [started(id)];
          if (i % 3 === 0) {
            delta.push(completedEvent(id, 1, 2));
            Object.assign(md, { status: "Completed", output: '"done"' });
          }
          await p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: delta, metadata: md }));
          await sleep(3);
        }
        return ids;
      }

      test("pages newest first with a cursor until exhausted", async (p, admin) => {
        const ids = await seed(p);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await admin.listInstancesPage({ limit: 3, cursor });
          assert.ok(page.items.length <= 3);
          assert.deepEqual(page.instanceIds, page.items.map((i) => i.instanceId));
          seen.push(...page.instanceIds);
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== null);
        assert.equal(pages, 3);
        assert.deepEqual(seen, [...ids].reverse());
        const first = await admin.listInstancesPage({ limit: 1 });
        assert.equal(first.items[0]?.instanceId, "pg-6");
        assert.equal(first.items[0]?.orchestrationName, "Even");
        assert.equal(first.items[0]?.status, "Completed");
        assert.equal(first.items[0]?.currentExecutionId, 1);
        assert.deepEqual((await admin.listInstancesPage({ limit: 7 })).nextCursor, null);
      });

      test("filters by status, name and creation time; status follows the current execution", async (p, admin) => {
        await seed(p);
        assert.deepEqual((await admin.listInstancesPage({ status: "Completed" })).instanceIds, ["pg-6", "pg-3", "pg-0"]);
        assert.deepEqual((await admin.listInstancesPage({ status: "Running", limit: 2 })).instanceIds, ["pg-5", "pg-4"]);
        assert.deepEqual((await admin.listInstancesPage({ orchestrationName: "Odd" })).instanceIds, ["pg-5", "pg-3", "pg-1"]);
        assert.deepEqual((await admin.listInstancesPage({ orchestrationName: "Odd", status: "Completed" })).instanceIds, ["pg-3"]);
        const all = (await admin.listInstancesPage({ limit: 100 })).items;
        const mid = all.find((i) => i.instanceId === "pg-3")!.createdAt;
        const older = await admin.listInstancesPage({ createdBefore: mid });
        assert.ok(older.items.every((i) => i.createdAt < mid));
        assert.ok(older.instanceIds.includes("pg-0") && !older.instanceIds.includes("pg-3"));
        const newer = await admin.listInstancesPage({ createdAfter: mid });
        assert.ok(newer.instanceIds.includes("pg-3") && newer.instanceIds.includes("pg-6") && !newer.instanceIds.includes("pg-0"));
        // Completing a running one moves it between status lists.
        await later(p, "pg-5", 1, [completedEvent("pg-5", 1, 2)], { status: "Completed", output: '"x"', orchestrationName: "Odd" });
        assert.deepEqual((await admin.listInstancesPage({ status: "Completed" })).instanceIds, ["pg-6", "pg-5", "pg-3", "pg-0"]);
        assert.deepEqual(await admin.listInstancesByStatus("Completed").then((l) => l.sort()), ["pg-0", "pg-3", "pg-5", "pg-6"]);
      });

      test("status of a continue-as-new chain: Running again once the next execution starts", async (p, admin) => {
        await chain(p, "ch", 2, true);
        assert.deepEqual((await admin.listInstancesPage({ status: "Running" })).instanceIds, ["ch"]);
        await drainOrchestrator(p);
      });

      test("rejects bad page options", async (_p, admin) => {
        await assert.rejects(admin.listInstancesPage({ limit: 0 }), InvalidArgumentError);
        await assert.rejects(admin.listInstancesPage({ limit: 5000 }), InvalidArgumentError);
        await assert.rejects(admin.listInstancesPage({ cursor: "garbage!" }), InvalidArgumentError);
      });
    });
  });
}
