// Provider conformance suite: the behaviours every Provider implementation must share.
// Register it from a test file: `runProviderConformance("sqlite-file", factory)`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError } from "../../model/errors.js";
import type { Provider, ProviderNotification } from "../provider.js";
import {
  ORCH_NAME,
  ORCH_VERSION,
  ack,
  activityItem,
  bootstrap,
  completed,
  event,
  external,
  fetchFor,
  sleep,
  started,
  startItem,
  timerFired,
} from "./fixtures.js";
import { runManagementConformance } from "./management.js";
import type { ConformanceOptions, ProviderFactory } from "./harness.js";

export type { ConformanceOptions, ProviderFactory } from "./harness.js";

const NO_TAGS = { tagFilter: { kind: "defaultOnly" as const } };
const ANY = { tagFilter: { kind: "any" as const } };

function isPermanentProviderError(pattern?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.retryable, false, "expected a permanent (non-retryable) error");
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

export function runProviderConformance(name: string, factory: ProviderFactory, options: ConformanceOptions = {}): void {
  const LOCK = options.lockTimeoutMs ?? 5_000;
  const SHORT = options.shortLockMs ?? 150;
  const PAST = SHORT + 80;

  /** Registers a test that gets a fresh provider. */
  function test(title: string, fn: (p: Provider) => Promise<void>): void {
    it(title, async () => {
      const p = await factory.create();
      try {
        await fn(p);
      } finally {
        if (factory.destroy) await factory.destroy(p);
        else await p.close();
      }
    });
  }

  describe(`provider conformance: ${name}`, () => {
    // ------------------------------------------------------------------------------------------
    describe("instance creation", () => {
      test("createInstance queues a start that fetches with no instance row yet", async (p) => {
        await p.createInstance(startItem("a", { version: null }));
        assert.equal(await p.getStatus("a"), null);
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.ok(item);
        assert.equal(item.instance, "a");
        assert.equal(item.orchestrationName, null);
        assert.equal(item.orchestrationVersion, null);
        assert.equal(item.executionId, 1);
        assert.deepEqual(item.history, []);
        assert.equal(item.historyAfterEventId, 0);
        assert.equal(item.historyError, null);
        assert.equal(item.attemptCount, 1);
        assert.deepEqual(item.messages, [startItem("a", { version: null })]);
        assert.deepEqual(item.kvSnapshot, {});
      });

      test("createInstance rejects an id that is queued or exists", async (p) => {
        await p.createInstance(startItem("a"));
        await assert.rejects(p.createInstance(startItem("a")), InstanceAlreadyExistsError);
        const item = await fetchFor(p, "a");
        await p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [started("a")] }));
        await assert.rejects(p.createInstance(startItem("a")), InstanceAlreadyExistsError);
        await p.createInstance(startItem("b"));
      });

      test("enqueueForOrchestrator never creates an instance", async (p) => {
        await p.enqueueForOrchestrator(startItem("a"));
        await p.enqueueForOrchestrator(external("a"));
        assert.equal(await p.getStatus("a"), null);
        assert.deepEqual(await p.read("a"), []);
        if (p.admin) assert.deepEqual(await p.admin.listInstances(), []);
      });

      test("the first ack creates the instance from metadata", async (p) => {
        await p.createInstance(startItem("child", { parent: "parent" }));
        const item = await fetchFor(p, "child");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: [started("child", 1, 1, "{}", "parent")], metadata: { parentInstanceId: "parent" } }),
        );
        const st = await p.getStatus("child");
        assert.ok(st);
        assert.equal(st.orchestrationName, ORCH_NAME);
        assert.equal(st.orchestrationVersion, ORCH_VERSION);
        assert.equal(st.executionId, 1);
        assert.equal(st.status, "Running");
        assert.equal(st.output, null);
        assert.equal(st.failure, null);
        assert.equal(st.customStatus, null);
        assert.equal(st.customStatusVersion, 0);
        assert.equal(st.parentInstanceId, "parent");
        const hist = await p.read("child");
        assert.equal(hist.length, 1);
        assert.equal(hist[0]!.type, "OrchestrationStarted");
      });

      test("requireInstance rejects unknown instances and accepts queued or existing ones", async (p) => {
        await assert.rejects(p.enqueueForOrchestrator(external("x"), { requireInstance: true }), InstanceNotFoundError);
        await p.createInstance(startItem("x"));
        await p.enqueueForOrchestrator(external("x"), { requireInstance: true });
        await bootstrap(p, "y");
        await p.enqueueForOrchestrator(external("y"), { requireInstance: true });
        assert.equal(await p.getStatus("x"), null, "requireInstance must not create the instance");
      });

      test("getStatus and read of an unknown instance", async (p) => {
        assert.equal(await p.getStatus("nope"), null);
        assert.deepEqual(await p.read("nope"), []);
        assert.deepEqual(await p.readExecution("nope", 1), []);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("atomic ack", () => {
      test("ack commits history, worker items, orchestrator items and metadata together", async (p) => {
        await p.createInstance(startItem("a"));
        const item = await fetchFor(p, "a");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [started("a"), event("a", 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" })],
            workerItems: [activityItem("a", 2)],
            orchestratorItems: [external("other")],
            metadata: { status: "Running" },
          }),
        );
        assert.equal((await p.read("a")).length, 2);
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.ok(lease);
        assert.deepEqual(lease.item, activityItem("a", 2));
        // the orchestrator item for "other" went to the queue (and is dropped as an orphan on fetch)
        if (p.admin) {
          const d = await p.admin.getQueueDepths();
          assert.equal(d.orchestratorQueue, 1);
        }
        assert.equal((await p.getStatus("a"))?.status, "Running");
      });

      test("duplicate event id fails permanently and rolls back everything", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        const before = await p.read("a");
        await assert.rejects(
          p.ackOrchestrationItem(
            item.lockToken,
            ack(1, {
              historyDelta: [
                event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" }),
                event("a", 1, 1, { type: "ExternalEvent", name: "dup", data: "1" }),
                event("a", 1, 3, { type: "CustomStatusUpdated", status: "x" }),
              ],
              workerItems: [activityItem("a", 9)],
              orchestratorItems: [external("a", "loop")],
              metadata: { status: "Completed", output: "done" },
            }),
          ),
          isPermanentProviderError(),
        );
        assert.deepEqual(await p.read("a"), before);
        const st = await p.getStatus("a");
        assert.equal(st?.status, "Running");
        assert.equal(st?.customStatus, null);
        assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
        // lock still held: the instance cannot be fetched by anyone else
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        // and the same token can still ack successfully; the message was not consumed by the failure
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] }),
        );
        assert.equal((await p.read("a")).length, 2);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("duplicate event ids inside one delta are rejected", async (p) => {
        await p.createInstance(startItem("a"));
        const item = await fetchFor(p, "a");
        await assert.rejects(
          p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [started("a"), started("a")] })),
          isPermanentProviderError(),
        );
        assert.equal(await p.getStatus("a"), null);
      });

      test("an empty delta is a valid ack", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        await p.ackOrchestrationItem(item.lockToken, ack(1));
        assert.equal((await p.read("a")).length, 1);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("ack records terminal status, output and failure", async (p) => {
        await bootstrap(p, "ok");
        await p.enqueueForOrchestrator(external("ok"));
        let item = await fetchFor(p, "ok");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [event("ok", 1, 2, { type: "OrchestrationCompleted", output: '"r"' })],
            metadata: { status: "Completed", output: '"r"' },
          }),
        );
        const st = await p.getStatus("ok");
        assert.equal(st?.status, "Completed");
        assert.equal(st?.output, '"r"');
        assert.equal(st?.failure, null);

        await bootstrap(p, "bad");
        await p.enqueueForOrchestrator(external("bad"));
        item = await fetchFor(p, "bad");
        const failure = { category: "application", kind: "OrchestrationFailed", message: "boom", retryable: false } as const;
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [event("bad", 1, 2, { type: "OrchestrationFailed", details: failure })],
            metadata: { status: "Failed", failure },
          }),
        );
        const fst = await p.getStatus("bad");
        assert.equal(fst?.status, "Failed");
        assert.deepEqual(fst?.failure, failure);
        assert.equal(fst?.output, null);
      });

      test("sub-orchestration completions are routed to the parent instance", async (p) => {
        await bootstrap(p, "parent", { orchestratorItems: [startItem("child", { parent: "parent" })] });
        const c = await fetchFor(p, "child");
        await p.ackOrchestrationItem(
          c.lockToken,
          ack(1, {
            historyDelta: [started("child", 1, 1, "{}", "parent"), event("child", 1, 2, { type: "OrchestrationCompleted", output: "7" })],
            metadata: { status: "Completed", output: "7", parentInstanceId: "parent" },
            orchestratorItems: [{ type: "SubOrchCompleted", parentInstance: "parent", parentExecutionId: 1, parentId: 2, result: "7" }],
          }),
        );
        const item = await fetchFor(p, "parent");
        assert.equal(item.messages.length, 1);
        assert.equal(item.messages[0]!.type, "SubOrchCompleted");
        assert.equal((await p.getStatus("child"))?.parentInstanceId, "parent");
        if (p.admin) assert.deepEqual(await p.admin.listChildren("parent"), ["child"]);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("orchestration locks", () => {
      test("invalid tokens are rejected by ack, abandon and renew", async (p) => {
        await bootstrap(p, "a");
        await assert.rejects(p.ackOrchestrationItem("no-such-token", ack(1)), isPermanentProviderError(/lock/i));
        await assert.rejects(p.abandonOrchestrationItem("no-such-token"), isPermanentProviderError(/lock/i));
        await assert.rejects(p.renewOrchestrationItemLock("no-such-token", LOCK), isPermanentProviderError(/lock/i));
      });

      test("an instance is held by one fetcher at a time; tokens are unique", async (p) => {
        for (const id of ["a", "b", "c"]) await p.createInstance(startItem(id));
        const items = await Promise.all([1, 2, 3, 4, 5].map(() => p.fetchOrchestrationItem(LOCK)));
        const got = items.filter((i) => i !== null);
        assert.equal(got.length, 3);
        assert.deepEqual(new Set(got.map((i) => i.instance)), new Set(["a", "b", "c"]));
        assert.equal(new Set(got.map((i) => i.lockToken)).size, 3);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("a lock on one instance does not block another", async (p) => {
        await p.createInstance(startItem("a"));
        const a = await p.fetchOrchestrationItem(LOCK);
        assert.equal(a?.instance, "a");
        await p.createInstance(startItem("b"));
        await p.enqueueForOrchestrator(external("a"));
        const b = await p.fetchOrchestrationItem(LOCK);
        assert.equal(b?.instance, "b");
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("messages arriving during a lock are not in the batch and survive the ack", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a", "first"));
        const item = await fetchFor(p, "a");
        assert.equal(item.messages.length, 1);
        await p.enqueueForOrchestrator(external("a", "late"));
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "locked instance must not be fetchable");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "first", data: "1" })] }),
        );
        const next = await fetchFor(p, "a");
        assert.deepEqual(
          next.messages.map((m) => (m.type === "ExternalRaised" ? m.name : m.type)),
          ["late"],
        );
        assert.equal(next.attemptCount, 1);
      });

      test("a batch holds all visible messages of the instance in arrival order", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a", "e1"));
        await p.enqueueForOrchestrator(completed("a", 2));
        await p.enqueueForOrchestrator(external("a", "e2"));
        const item = await fetchFor(p, "a");
        assert.deepEqual(
          item.messages.map((m) => m.type),
          ["ExternalRaised", "ActivityCompleted", "ExternalRaised"],
        );
      });

      test("an expired lock lets another fetch take the instance; the stale token fails", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const first = await p.fetchOrchestrationItem(SHORT);
        assert.ok(first);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        await sleep(PAST);
        const second = await p.fetchOrchestrationItem(LOCK);
        assert.ok(second);
        assert.equal(second.instance, "a");
        assert.notEqual(second.lockToken, first.lockToken);
        assert.equal(second.attemptCount, 2);
        assert.equal(second.messages.length, 1);
        await assert.rejects(p.ackOrchestrationItem(first.lockToken, ack(1)), isPermanentProviderError(/lock/i));
        await p.ackOrchestrationItem(second.lockToken, ack(1));
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("an ack after the lock expired fails even if nobody refetched", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await p.fetchOrchestrationItem(SHORT);
        assert.ok(item);
        await sleep(PAST);
        await assert.rejects(
          p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] })),
          isPermanentProviderError(/lock/i),
        );
        assert.equal((await p.read("a")).length, 1);
      });

      test("renewal extends the lock; renewal after expiry or ack fails", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await p.fetchOrchestrationItem(SHORT);
        assert.ok(item);
        await p.renewOrchestrationItemLock(item.lockToken, SHORT * 4);
        await sleep(PAST);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "renewed lock must still hold");
        await p.ackOrchestrationItem(item.lockToken, ack(1));
        await assert.rejects(p.renewOrchestrationItemLock(item.lockToken, LOCK), isPermanentProviderError());

        await p.enqueueForOrchestrator(external("a"));
        const again = await p.fetchOrchestrationItem(SHORT);
        assert.ok(again);
        await sleep(PAST);
        await assert.rejects(p.renewOrchestrationItemLock(again.lockToken, LOCK), isPermanentProviderError());
      });

      test("abandon releases at once; with a delay the messages stay hidden until it passes", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        await p.abandonOrchestrationItem(item.lockToken);
        const again = await p.fetchOrchestrationItem(LOCK);
        assert.equal(again?.instance, "a");
        assert.equal(again?.attemptCount, 2);
        await p.abandonOrchestrationItem(again!.lockToken, SHORT);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        await sleep(PAST);
        const third = await p.fetchOrchestrationItem(LOCK);
        assert.equal(third?.instance, "a");
        assert.equal(third?.attemptCount, 3);
        await assert.rejects(p.abandonOrchestrationItem(item.lockToken), isPermanentProviderError());
      });

      test("abandon with ignoreAttempt does not count the attempt and never goes negative", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        for (let i = 0; i < 3; i++) {
          const item = await fetchFor(p, "a");
          assert.equal(item.attemptCount, 1);
          await p.abandonOrchestrationItem(item.lockToken, 0, true);
        }
        const item = await fetchFor(p, "a");
        await p.abandonOrchestrationItem(item.lockToken);
        assert.equal((await fetchFor(p, "a")).attemptCount, 2);
      });

      test("attempt count is the max over the batch", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a", "old"));
        for (let i = 0; i < 2; i++) await p.abandonOrchestrationItem((await fetchFor(p, "a")).lockToken);
        await p.enqueueForOrchestrator(external("a", "new"));
        const item = await fetchFor(p, "a");
        assert.equal(item.messages.length, 2);
        assert.equal(item.attemptCount, 3);
        await p.ackOrchestrationItem(item.lockToken, ack(1));
        await p.enqueueForOrchestrator(external("a", "fresh"));
        assert.equal((await fetchFor(p, "a")).attemptCount, 1, "attempts are per message");
      });

      test("two acks with the same token cannot both succeed", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        const results = await Promise.allSettled([
          p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "x", data: "1" })] })),
          p.ackOrchestrationItem(item.lockToken, ack(1, { historyDelta: [event("a", 1, 3, { type: "ExternalEvent", name: "y", data: "1" })] })),
        ]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        assert.equal((await p.read("a")).length, 2);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("visibility and orphans", () => {
      test("a TimerFired from an ack becomes visible at its fire time", async (p) => {
        const fireAt = Date.now() + SHORT;
        await bootstrap(p, "a", {
          historyDelta: [event("a", 1, 2, { type: "TimerCreated", fireAtMs: fireAt })],
          orchestratorItems: [timerFired("a", 2, fireAt)],
        });
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        if (p.admin) assert.equal((await p.admin.getQueueDepths()).orchestratorQueue, 0);
        await sleep(PAST);
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.equal(item?.messages[0]?.type, "TimerFired");
      });

      test("future messages are not part of a batch and are not deleted by its ack", async (p) => {
        const fireAt = Date.now() + SHORT;
        await bootstrap(p, "a", { orchestratorItems: [timerFired("a", 2, fireAt), external("a")] });
        const item = await fetchFor(p, "a");
        assert.deepEqual(item.messages.map((m) => m.type), ["ExternalRaised"]);
        await p.ackOrchestrationItem(item.lockToken, ack(1));
        await sleep(PAST);
        const timer = await fetchFor(p, "a");
        assert.deepEqual(timer.messages.map((m) => m.type), ["TimerFired"]);
      });

      test("enqueue with delayMs hides the message until the delay passes", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator(external("a"), { delayMs: SHORT });
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        await sleep(PAST);
        assert.equal((await p.fetchOrchestrationItem(LOCK))?.instance, "a");
      });

      test("orphan messages are dropped and never block other instances", async (p) => {
        await p.enqueueForOrchestrator(external("ghost"));
        await p.enqueueForOrchestrator(completed("ghost", 3));
        await p.enqueueForOrchestrator({ type: "CancelInstance", instance: "ghost2", reason: "x" });
        await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "ghost3", name: "q", data: "1" });
        await p.createInstance(startItem("real"));
        const item = await p.fetchOrchestrationItem(LOCK);
        assert.equal(item?.instance, "real");
        await p.ackOrchestrationItem(item!.lockToken, ack(1, { historyDelta: [started("real")] }));
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
        if (p.admin) {
          const d = await p.admin.getQueueDepths();
          assert.equal(d.orchestratorQueue, 0);
        }
        assert.equal(await p.getStatus("ghost"), null);
      });

      test("messages for an existing instance are kept and returned", async (p) => {
        await bootstrap(p, "a");
        await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "a", name: "q", data: "1" });
        const item = await fetchFor(p, "a");
        assert.equal(item.messages[0]?.type, "QueueMessage");
      });

      test("messages queued before the start is fetched join the start's batch", async (p) => {
        await p.createInstance(startItem("a"));
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        assert.deepEqual(item.messages.map((m) => m.type), ["StartOrchestration", "ExternalRaised"]);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("worker queue", () => {
      test("FIFO order and immediate visibility", async (p) => {
        for (let i = 1; i <= 5; i++) await p.enqueueForWorker(activityItem("a", i));
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
          assert.ok(lease);
          assert.equal(lease.attemptCount, 1);
          ids.push(lease.item.id);
        }
        assert.deepEqual(ids, [1, 2, 3, 4, 5]);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      });

      test("peek-lock: a fetched item is hidden until ack or expiry", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1));
        const first = await p.fetchWorkItem(SHORT, NO_TAGS);
        assert.ok(first);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), true);
        await sleep(PAST);
        const second = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.ok(second);
        assert.equal(second.attemptCount, 2);
        assert.notEqual(second.lockToken, first.lockToken);
        await assert.rejects(p.ackWorkItem(first.lockToken, null), isPermanentProviderError());
        await p.ackWorkItem(second.lockToken, null);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), false);
      });

      test("ack deletes the item and enqueues its completion atomically", async (p) => {
        await bootstrap(p, "a", { workerItems: [activityItem("a", 2)] });
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.ok(lease);
        await p.ackWorkItem(lease.lockToken, completed("a", 2, '"r"'));
        assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
        const item = await fetchFor(p, "a");
        assert.deepEqual(item.messages, [completed("a", 2, '"r"')]);
        await assert.rejects(p.ackWorkItem(lease.lockToken, null), isPermanentProviderError());
      });

      test("ack with no completion deletes without enqueueing", async (p) => {
        await bootstrap(p, "a", { workerItems: [activityItem("a", 2)] });
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        await p.ackWorkItem(lease!.lockToken, null);
        assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
        assert.equal(await p.fetchOrchestrationItem(LOCK), null);
      });

      test("worker ack after lock expiry fails even if nobody refetched", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1));
        const lease = await p.fetchWorkItem(SHORT, NO_TAGS);
        await sleep(PAST);
        await assert.rejects(p.ackWorkItem(lease!.lockToken, completed("a", 1)), isPermanentProviderError());
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "no completion may leak from a failed ack");
      });

      test("renewal extends the lock; fails for bad tokens, after expiry and after ack", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1));
        const lease = await p.fetchWorkItem(SHORT, NO_TAGS);
        assert.ok(lease);
        await p.renewWorkItemLock(lease.lockToken, SHORT * 4);
        await sleep(PAST);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null, "renewed lock must still hold");
        await p.renewWorkItemLock(lease.lockToken, LOCK);
        await assert.rejects(p.renewWorkItemLock("bogus", LOCK), isPermanentProviderError());
        await p.ackWorkItem(lease.lockToken, null);
        await assert.rejects(p.renewWorkItemLock(lease.lockToken, LOCK), isPermanentProviderError());

        await p.enqueueForWorker(activityItem("a", 2));
        const l2 = await p.fetchWorkItem(SHORT, NO_TAGS);
        await sleep(PAST);
        await assert.rejects(p.renewWorkItemLock(l2!.lockToken, LOCK), isPermanentProviderError());
      });

      test("abandon releases at once or after a delay; ignoreAttempt never goes below zero", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1));
        await p.enqueueForWorker(activityItem("a", 2));
        const l1 = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(l1?.item.id, 1);
        await p.abandonWorkItem(l1!.lockToken);
        const l1b = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(l1b?.item.id, 1);
        assert.equal(l1b?.attemptCount, 2);
        await p.abandonWorkItem(l1b!.lockToken, SHORT);
        // the delayed item is skipped while a later one is available
        const l2 = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(l2?.item.id, 2);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
        await sleep(PAST);
        const l1c = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(l1c?.item.id, 1);
        assert.equal(l1c?.attemptCount, 3);
        await p.abandonWorkItem(l1c!.lockToken, 0, true);
        assert.equal((await p.fetchWorkItem(LOCK, NO_TAGS))?.attemptCount, 3);

        await p.abandonWorkItem(l2!.lockToken, 0, true);
        for (let i = 0; i < 3; i++) {
          const l = await p.fetchWorkItem(LOCK, NO_TAGS);
          assert.equal(l?.item.id, 2);
          assert.equal(l?.attemptCount, 1);
          await p.abandonWorkItem(l!.lockToken, 0, true);
        }
        await assert.rejects(p.abandonWorkItem("bogus"), isPermanentProviderError());
      });

      test("fetch never hands one item to two concurrent workers", async (p) => {
        for (let i = 1; i <= 10; i++) await p.enqueueForWorker(activityItem("a", i));
        const leases = await Promise.all(Array.from({ length: 15 }, () => p.fetchWorkItem(LOCK, NO_TAGS)));
        const ids = leases.filter((l) => l !== null).map((l) => l.item.id);
        assert.equal(ids.length, 10);
        assert.equal(new Set(ids).size, 10);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("activity cancellation", () => {
      test("cancelled activities are withdrawn; late renew and ack fail", async (p) => {
        await bootstrap(p, "a", { workerItems: [activityItem("a", 2), activityItem("a", 3), activityItem("a", 4)] });
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(lease?.item.id, 2);
        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            cancelledActivities: [
              { instance: "a", executionId: 1, activityId: 2 },
              { instance: "a", executionId: 1, activityId: 3 },
              { instance: "a", executionId: 1, activityId: 99 },
              { instance: "zzz", executionId: 1, activityId: 1 },
            ],
          }),
        );
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 3 }), false);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 4 }), true);
        await assert.rejects(p.renewWorkItemLock(lease!.lockToken, LOCK), isPermanentProviderError());
        await assert.rejects(p.ackWorkItem(lease!.lockToken, completed("a", 2)), isPermanentProviderError());
        assert.equal(await p.fetchOrchestrationItem(LOCK), null, "the late completion must be dropped");
        const rest = await p.fetchWorkItem(LOCK, NO_TAGS);
        assert.equal(rest?.item.id, 4);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
      });

      test("scheduling and cancelling the same activity in one ack nets to nothing", async (p) => {
        await bootstrap(p, "a", {
          workerItems: [activityItem("a", 2)],
          cancelledActivities: [{ instance: "a", executionId: 1, activityId: 2 }],
        });
        assert.equal(await p.fetchWorkItem(LOCK, ANY), null);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
      });

      test("cancelling unknown activities is a no-op", async (p) => {
        await bootstrap(p, "a", { cancelledActivities: [{ instance: "a", executionId: 1, activityId: 5 }] });
        assert.equal((await p.read("a")).length, 1);
      });

      test("activity identity distinguishes executions", async (p) => {
        await p.enqueueForWorker(activityItem("a", 2, { executionId: 1 }));
        await p.enqueueForWorker(activityItem("a", 2, { executionId: 2 }));
        await bootstrap(p, "a", { cancelledActivities: [{ instance: "a", executionId: 1, activityId: 2 }] });
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 2 }), false);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 2, activityId: 2 }), true);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("tag filters", () => {
      async function seed(p: Provider): Promise<void> {
        await p.enqueueForWorker(activityItem("a", 1));
        await p.enqueueForWorker(activityItem("a", 2, { tag: "gpu" }));
        await p.enqueueForWorker(activityItem("a", 3, { tag: "cpu" }));
        await p.enqueueForWorker(activityItem("a", 4, { tag: "io" }));
      }
      async function drain(p: Provider, tagFilter: Parameters<Provider["fetchWorkItem"]>[1]["tagFilter"]): Promise<number[]> {
        const ids: number[] = [];
        for (;;) {
          const l = await p.fetchWorkItem(LOCK, { tagFilter });
          if (l === null) return ids;
          ids.push(l.item.id);
        }
      }

      test("defaultOnly fetches untagged items only", async (p) => {
        await seed(p);
        assert.deepEqual(await drain(p, { kind: "defaultOnly" }), [1]);
      });
      test("tags fetches only matching tags", async (p) => {
        await seed(p);
        assert.deepEqual(await drain(p, { kind: "tags", tags: ["gpu", "io"] }), [2, 4]);
      });
      test("defaultAnd fetches untagged plus matching", async (p) => {
        await seed(p);
        assert.deepEqual(await drain(p, { kind: "defaultAnd", tags: ["cpu"] }), [1, 3]);
      });
      test("any fetches everything; none fetches nothing", async (p) => {
        await seed(p);
        assert.equal(await p.fetchWorkItem(LOCK, { tagFilter: { kind: "none" } }), null);
        assert.deepEqual(await drain(p, { kind: "any" }), [1, 2, 3, 4]);
      });
      test("the tag survives the round trip, abandon and the ack path", async (p) => {
        await bootstrap(p, "a", { workerItems: [activityItem("a", 2, { tag: "gpu" })] });
        const l = await p.fetchWorkItem(LOCK, { tagFilter: { kind: "tags", tags: ["gpu"] } });
        assert.equal(l?.item.tag, "gpu");
        await p.abandonWorkItem(l!.lockToken);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
        const again = await p.fetchWorkItem(LOCK, { tagFilter: { kind: "tags", tags: ["gpu"] } });
        assert.deepEqual(again?.item, activityItem("a", 2, { tag: "gpu" }));
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("sessions", () => {
      const sess = (ownerId: string, lockTimeoutMs = LOCK) => ({ tagFilter: { kind: "defaultOnly" as const }, session: { ownerId, lockTimeoutMs } });

      test("without a session config only non-session items are returned", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2));
        assert.equal((await p.fetchWorkItem(LOCK, NO_TAGS))?.item.id, 2);
        assert.equal(await p.fetchWorkItem(LOCK, NO_TAGS), null);
        const l = await p.fetchWorkItem(LOCK, sess("w1"));
        assert.equal(l?.item.id, 1);
        assert.equal(l?.item.sessionId, "s1");
      });

      test("a claimed session is pinned to its owner", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 3, { sessionId: "s2" }));
        await p.enqueueForWorker(activityItem("a", 4));
        assert.equal((await p.fetchWorkItem(LOCK, sess("w1")))?.item.id, 1);
        // w2 cannot take s1's second item, but gets s2 and the plain item
        assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 3);
        assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 4);
        assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
        assert.equal((await p.fetchWorkItem(LOCK, sess("w1")))?.item.id, 2, "owner keeps getting its session's items");
      });

      test("an expired session can be claimed by another worker", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
        const l1 = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        await p.ackWorkItem(l1!.lockToken, null);
        assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
        await sleep(PAST);
        assert.equal((await p.fetchWorkItem(LOCK, sess("w2")))?.item.id, 2);
      });

      test("concurrent claims of one session: only one owner wins", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
        const leases = await Promise.all(["w1", "w2", "w3", "w4"].map((w) => p.fetchWorkItem(LOCK, sess(w))));
        const got = leases.filter((l) => l !== null);
        assert.equal(got.length, 1);
      });

      test("renewSessionLocks renews active sessions only", async (p) => {
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, LOCK), 0);
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
        const l = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        assert.ok(l);
        assert.equal(await p.renewSessionLocks(["w1"], SHORT * 4, LOCK), 1);
        assert.equal(await p.renewSessionLocks(["other"], LOCK, LOCK), 0);
        await sleep(PAST);
        // the renewed session outlives its original timeout
        assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
        // idle (no activity within the idle timeout) sessions are not renewed
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, 50), 0);
      });

      test("renewSessionLocks returns 0 once the session expired", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        await sleep(PAST);
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, LOCK), 0);
      });

      test("worker ack and renew count as session activity", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "s1" }));
        const l1 = await p.fetchWorkItem(LOCK, sess("w1"));
        const l2 = await p.fetchWorkItem(LOCK, sess("w1"));
        await sleep(120);
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 0, "idle for 120ms > 100ms");
        await p.ackWorkItem(l1!.lockToken, null);
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 1, "ack bumped last activity");
        await sleep(120);
        await p.renewWorkItemLock(l2!.lockToken, LOCK);
        assert.equal(await p.renewSessionLocks(["w1"], LOCK, 100), 1, "renew bumped last activity");
      });

      test("cleanupOrphanedSessions removes only expired sessions without pending items", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "done" }));
        await p.enqueueForWorker(activityItem("a", 2, { sessionId: "pending" }));
        await p.enqueueForWorker(activityItem("a", 3, { sessionId: "pending" }));
        await p.enqueueForWorker(activityItem("a", 4, { sessionId: "active" }));
        const d = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        assert.equal(d?.item.id, 1);
        await p.ackWorkItem(d!.lockToken, null);
        const pend = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        assert.equal(pend?.item.id, 2);
        await p.ackWorkItem(pend!.lockToken, null);
        const act = await p.fetchWorkItem(LOCK, sess("w2", LOCK));
        assert.equal(act?.item.id, 4);
        await p.ackWorkItem(act!.lockToken, null);
        await sleep(PAST);
        assert.equal(await p.cleanupOrphanedSessions(LOCK), 1);
        assert.equal(await p.cleanupOrphanedSessions(LOCK), 0);
        // the expired session with an item left is claimable by anyone, and is re-created afterwards
        assert.equal((await p.fetchWorkItem(LOCK, sess("w3")))?.item.id, 3);
        await p.enqueueForWorker(activityItem("a", 5, { sessionId: "done" }));
        assert.equal((await p.fetchWorkItem(LOCK, sess("w4")))?.item.id, 5);
      });

      test("an abandoned session item is retried by its owner", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        const l = await p.fetchWorkItem(LOCK, sess("w1"));
        await p.abandonWorkItem(l!.lockToken, 0, true);
        assert.equal(await p.fetchWorkItem(LOCK, sess("w2")), null);
        const again = await p.fetchWorkItem(LOCK, sess("w1"));
        assert.equal(again?.item.id, 1);
        assert.equal(again?.attemptCount, 1);
      });

      test("session ownership does not gate the activity ack", async (p) => {
        await p.enqueueForWorker(activityItem("a", 1, { sessionId: "s1" }));
        const l = await p.fetchWorkItem(LOCK, sess("w1", SHORT));
        await sleep(PAST);
        await p.ackWorkItem(l!.lockToken, null);
        assert.equal(await p.isActivityPending({ instance: "a", executionId: 1, activityId: 1 }), false);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("custom status", () => {
      test("set, clear and preserve; the version increments once per ack", async (p) => {
        await bootstrap(p, "a");
        assert.equal((await p.getStatus("a"))?.customStatusVersion, 0);
        const turn = async (eventsKinds: ({ type: "CustomStatusUpdated"; status: string | null } | { type: "ExternalEvent"; name: string; data: string })[]) => {
          await p.enqueueForOrchestrator(external("a"));
          const item = await fetchFor(p, "a");
          const base = (await p.read("a")).length;
          await p.ackOrchestrationItem(
            item.lockToken,
            ack(1, { historyDelta: eventsKinds.map((k, i) => event("a", 1, base + 1 + i, k)) }),
          );
          return p.getStatus("a");
        };
        let st = await turn([{ type: "CustomStatusUpdated", status: "one" }]);
        assert.equal(st?.customStatus, "one");
        assert.equal(st?.customStatusVersion, 1);
        st = await turn([
          { type: "CustomStatusUpdated", status: "two" },
          { type: "CustomStatusUpdated", status: "three" },
        ]);
        assert.equal(st?.customStatus, "three");
        assert.equal(st?.customStatusVersion, 2);
        st = await turn([{ type: "ExternalEvent", name: "evt", data: "1" }]);
        assert.equal(st?.customStatus, "three");
        assert.equal(st?.customStatusVersion, 2);
        st = await turn([{ type: "CustomStatusUpdated", status: null }]);
        assert.equal(st?.customStatus, null);
        assert.equal(st?.customStatusVersion, 3);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("key-value state", () => {
      const kvSet = (inst: string, exec: number, id: number, key: string, value: string) =>
        event(inst, exec, id, { type: "KeyValueSet", key, value, lastUpdatedAtMs: 1000 + id });

      test("set, overwrite, clear and read back", async (p) => {
        await bootstrap(p, "a", {
          historyDelta: [kvSet("a", 1, 2, "k1", "v1"), kvSet("a", 1, 3, "k2", "v2"), kvSet("a", 1, 4, "k1", "v1b")],
        });
        assert.equal(await p.getKvValue("a", "k1"), "v1b");
        assert.equal(await p.getKvValue("a", "k2"), "v2");
        assert.equal(await p.getKvValue("a", "missing"), null);
        assert.equal(await p.getKvValue("unknown", "k1"), null);
        assert.deepEqual(await p.getKvAllValues("a"), { k1: "v1b", k2: "v2" });
        assert.deepEqual(await p.getKvAllValues("unknown"), {});

        await p.enqueueForOrchestrator(external("a"));
        const item = await fetchFor(p, "a");
        assert.deepEqual(item.kvSnapshot, {}, "the snapshot excludes the current execution's writes");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, { historyDelta: [event("a", 1, 5, { type: "KeyValueCleared", key: "k2" }), event("a", 1, 6, { type: "KeyValueCleared", key: "nope" })] }),
        );
        assert.equal(await p.getKvValue("a", "k2"), null);
        assert.deepEqual(await p.getKvAllValues("a"), { k1: "v1b" });
      });

      test("terminal acks merge the delta into the snapshot", async (p) => {
        await bootstrap(p, "a", { historyDelta: [kvSet("a", 1, 2, "k", "v"), kvSet("a", 1, 3, "gone", "x")] });
        await p.enqueueForOrchestrator(external("a"));
        let item = await fetchFor(p, "a");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [
              event("a", 1, 4, { type: "KeyValueCleared", key: "gone" }),
              event("a", 1, 5, { type: "OrchestrationCompleted", output: "1" }),
            ],
            metadata: { status: "Completed", output: "1" },
          }),
        );
        assert.deepEqual(await p.getKvAllValues("a"), { k: "v" });
        await p.enqueueForOrchestrator(external("a"));
        item = await fetchFor(p, "a");
        assert.deepEqual(item.kvSnapshot, { k: { value: "v", lastUpdatedAtMs: 1002 } });
      });

      test("continue-as-new merges, and clear-all tombstones earlier executions' keys", async (p) => {
        await bootstrap(p, "a", {
          historyDelta: [kvSet("a", 1, 2, "a1", "x"), kvSet("a", 1, 3, "a2", "y"), event("a", 1, 4, { type: "OrchestrationContinuedAsNew", input: "2" })],
          metadata: { status: "ContinuedAsNew", output: "2" },
          orchestratorItems: [
            { type: "ContinueAsNew", instance: "a", orchestration: ORCH_NAME, input: "2", version: ORCH_VERSION, carryForwardEvents: [], initialCustomStatus: null, parent: null },
          ],
        });
        let item = await fetchFor(p, "a");
        assert.deepEqual(Object.keys(item.kvSnapshot).sort(), ["a1", "a2"]);
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(2, { historyDelta: [started("a", 2, 1, "2"), event("a", 2, 2, { type: "KeyValuesCleared" }), kvSet("a", 2, 3, "b1", "z")] }),
        );
        assert.equal(await p.getKvValue("a", "a1"), null);
        assert.equal(await p.getKvValue("a", "b1"), "z");
        assert.deepEqual(await p.getKvAllValues("a"), { b1: "z" });
        await p.enqueueForOrchestrator(external("a"));
        item = await fetchFor(p, "a");
        assert.deepEqual(Object.keys(item.kvSnapshot).sort(), ["a1", "a2"], "snapshot = previous executions only");
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(2, { historyDelta: [event("a", 2, 4, { type: "OrchestrationCompleted", output: "0" })], metadata: { status: "Completed", output: "0" } }),
        );
        assert.deepEqual(await p.getKvAllValues("a"), { b1: "z" });
        await p.enqueueForOrchestrator(external("a"));
        item = await fetchFor(p, "a");
        assert.deepEqual(Object.keys(item.kvSnapshot), ["b1"]);
      });

      test("unusual keys and values round-trip; instances are isolated", async (p) => {
        const big = "x".repeat(64 * 1024);
        await bootstrap(p, "a", {
          historyDelta: [kvSet("a", 1, 2, "__proto__", "p"), kvSet("a", 1, 3, "a/b c:ü", ""), kvSet("a", 1, 4, "big", big)],
        });
        await bootstrap(p, "b", { historyDelta: [kvSet("b", 1, 2, "only-b", "1")] });
        assert.equal(await p.getKvValue("a", "__proto__"), "p");
        assert.equal(await p.getKvValue("a", "a/b c:ü"), "");
        assert.equal(await p.getKvValue("a", "big"), big);
        const all = await p.getKvAllValues("a");
        assert.deepEqual(Object.keys(all).sort(), ["__proto__", "a/b c:ü", "big"].sort());
        assert.equal(await p.getKvValue("a", "only-b"), null);
        assert.deepEqual(await p.getKvAllValues("b"), { "only-b": "1" });
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("history loading", () => {
      test("knownHistory skips reloading history the caller already holds", async (p) => {
        await bootstrap(p, "a", { historyDelta: [event("a", 1, 2, { type: "TimerCreated", fireAtMs: 1 })] });
        await p.enqueueForOrchestrator(external("a"));
        const calls: string[] = [];
        let item = await p.fetchOrchestrationItem(LOCK, {
          knownHistory: (inst) => {
            calls.push(inst);
            return { executionId: 1, lastEventId: 2 };
          },
        });
        assert.deepEqual(calls, ["a"]);
        assert.deepEqual(item?.history, []);
        assert.equal(item?.historyAfterEventId, 2);
        await p.abandonOrchestrationItem(item!.lockToken);

        for (const known of [{ executionId: 1, lastEventId: 1 }, { executionId: 2, lastEventId: 2 }, undefined]) {
          item = await p.fetchOrchestrationItem(LOCK, { knownHistory: () => known });
          assert.equal(item?.history.length, 2, `stale knowledge ${JSON.stringify(known)} → full history`);
          assert.equal(item?.historyAfterEventId, 0);
          await p.abandonOrchestrationItem(item!.lockToken);
        }
      });

      test("continue-as-new: a new execution with its own history", async (p) => {
        await bootstrap(p, "a", {
          historyDelta: [event("a", 1, 2, { type: "OrchestrationContinuedAsNew", input: "2" })],
          metadata: { status: "ContinuedAsNew", output: "2" },
          orchestratorItems: [
            { type: "ContinueAsNew", instance: "a", orchestration: ORCH_NAME, input: "2", version: ORCH_VERSION, carryForwardEvents: [], initialCustomStatus: null, parent: null },
          ],
        });
        let item = await fetchFor(p, "a");
        assert.equal(item.executionId, 1);
        assert.equal(item.messages[0]?.type, "ContinueAsNew");
        await p.ackOrchestrationItem(item.lockToken, ack(2, { historyDelta: [started("a", 2, 1, "2")] }));
        const st = await p.getStatus("a");
        assert.equal(st?.executionId, 2);
        assert.equal(st?.status, "Running");
        assert.deepEqual((await p.read("a")).map((e) => [e.executionId, e.type]), [[2, "OrchestrationStarted"]]);
        assert.deepEqual((await p.readExecution("a", 1)).map((e) => e.type), ["OrchestrationStarted", "OrchestrationContinuedAsNew"]);
        await p.enqueueForOrchestrator(external("a"));
        item = await fetchFor(p, "a");
        assert.equal(item.executionId, 2);
        assert.equal(item.history.length, 1);
        if (p.admin) {
          assert.deepEqual(await p.admin.listExecutions("a"), [1, 2]);
          assert.equal((await p.admin.getExecutionInfo("a", 1)).status, "ContinuedAsNew");
          assert.equal((await p.admin.getExecutionInfo("a", 2)).status, "Running");
        }
      });

      if (factory.corruptHistory) {
        const corrupt = factory.corruptHistory.bind(factory);
        test("an unreadable history row yields historyError with the lock held", async (p) => {
          await bootstrap(p, "a");
          await corrupt(p, "a");
          await p.enqueueForOrchestrator(external("a"));
          const item = await p.fetchOrchestrationItem(LOCK);
          assert.ok(item);
          assert.equal(item.instance, "a");
          assert.ok(item.historyError);
          assert.deepEqual(item.history, []);
          assert.equal(item.attemptCount, 1);
          assert.equal(await p.fetchOrchestrationItem(LOCK), null, "lock is held");
          await p.abandonOrchestrationItem(item.lockToken);
          const again = await p.fetchOrchestrationItem(LOCK);
          assert.equal(again?.attemptCount, 2);
          assert.ok(again?.historyError);
          // appending on top of the damaged history still works
          await p.ackOrchestrationItem(again!.lockToken, ack(1, { historyDelta: [event("a", 1, 2, { type: "ExternalEvent", name: "e", data: "1" })] }));
        });
      }

      if (factory.corruptQueueRow) {
        const corrupt = factory.corruptQueueRow.bind(factory);
        test("an unreadable queue message does not break fetching", async (p) => {
          await p.createInstance(startItem("bad"));
          await corrupt(p);
          await p.createInstance(startItem("good"));
          const item = await p.fetchOrchestrationItem(LOCK);
          assert.equal(item?.instance, "good");
          assert.equal(await p.fetchOrchestrationItem(LOCK), null);
          await p.ackOrchestrationItem(item!.lockToken, ack(1, { historyDelta: [started("good")] }));
          assert.equal((await p.getStatus("good"))?.status, "Running");
        });
      }
    });

    // ------------------------------------------------------------------------------------------
    describe("notifications", () => {
      test("writes notify subscribers; unsubscribe stops them; listener errors are contained", async (p) => {
        const seen: ProviderNotification[] = [];
        p.subscribe(() => {
          throw new Error("listener failure");
        });
        const off = p.subscribe((n) => seen.push(n));
        await p.createInstance(startItem("a"));
        assert.equal(seen.filter((n) => n.kind === "orchestrator").length, 1);
        await p.enqueueForWorker(activityItem("x", 1));
        assert.ok(seen.some((n) => n.kind === "worker"));

        seen.length = 0;
        const item = await fetchFor(p, "a");
        const fireAt = Date.now() + 60_000;
        await p.ackOrchestrationItem(
          item.lockToken,
          ack(1, {
            historyDelta: [started("a")],
            workerItems: [activityItem("a", 2)],
            orchestratorItems: [timerFired("a", 3, fireAt)],
            cancelledActivities: [{ instance: "x", executionId: 1, activityId: 1 }],
          }),
        );
        assert.ok(seen.some((n) => n.kind === "worker"));
        assert.ok(seen.some((n) => n.kind === "orchestrator" && n.visibleAtMs === fireAt));
        assert.ok(seen.some((n) => n.kind === "instanceChanged" && n.instance === "a"));
        const cancelled = seen.find((n) => n.kind === "activitiesCancelled");
        assert.deepEqual(cancelled, { kind: "activitiesCancelled", activities: [{ instance: "x", executionId: 1, activityId: 1 }] });

        seen.length = 0;
        const lease = await p.fetchWorkItem(LOCK, NO_TAGS);
        await p.ackWorkItem(lease!.lockToken, completed("a", 2));
        assert.ok(seen.some((n) => n.kind === "orchestrator"));

        off();
        seen.length = 0;
        await p.enqueueForOrchestrator(external("a"));
        assert.deepEqual(seen, []);
      });

      test("a failed write emits nothing", async (p) => {
        const seen: ProviderNotification[] = [];
        p.subscribe((n) => seen.push(n));
        await assert.rejects(p.ackOrchestrationItem("bogus", ack(1, { workerItems: [activityItem("a", 1)] })));
        await assert.rejects(p.enqueueForOrchestrator(external("none"), { requireInstance: true }));
        assert.deepEqual(seen, []);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe("management", () => {
      test("admin queries report instances, executions, metrics and queue depths", async (p) => {
        const admin = p.admin;
        if (!admin) return;
        await bootstrap(p, "first");
        await sleep(5);
        await bootstrap(p, "second", { orchestratorItems: [startItem("kid", { parent: "second" })] });
        const kid = await fetchFor(p, "kid");
        await p.ackOrchestrationItem(
          kid.lockToken,
          ack(1, {
            historyDelta: [started("kid", 1, 1, "{}", "second"), event("kid", 1, 2, { type: "OrchestrationCompleted", output: "5" })],
            metadata: { status: "Completed", output: "5", parentInstanceId: "second" },
          }),
        );
        const list = await admin.listInstances();
        assert.equal(list.length, 3);
        assert.equal(list[list.length - 1], "first", "newest first");
        assert.deepEqual(await admin.listInstancesByStatus("Completed"), ["kid"]);
        assert.deepEqual((await admin.listInstancesByStatus("Running")).sort(), ["first", "second"]);
        assert.deepEqual(await admin.listExecutions("kid"), [1]);
        assert.deepEqual(await admin.listExecutions("unknown"), []);
        assert.deepEqual(await admin.listChildren("second"), ["kid"]);
        const info = await admin.getInstanceInfo("kid");
        assert.equal(info.instanceId, "kid");
        assert.equal(info.orchestrationName, ORCH_NAME);
        assert.equal(info.status, "Completed");
        assert.equal(info.output, "5");
        assert.equal(info.parentInstanceId, "second");
        assert.equal(info.currentExecutionId, 1);
        await assert.rejects(admin.getInstanceInfo("unknown"), InstanceNotFoundError);
        const ex = await admin.getExecutionInfo("kid", 1);
        assert.equal(ex.eventCount, 2);
        assert.equal(ex.status, "Completed");
        assert.ok(ex.completedAt !== null);
        await assert.rejects(admin.getExecutionInfo("kid", 9));
        assert.deepEqual((await admin.readHistory("kid", 1)).map((e) => e.eventId), [1, 2]);
        const m = await admin.getSystemMetrics();
        assert.deepEqual(m, {
          totalInstances: 3,
          totalExecutions: 3,
          runningInstances: 2,
          completedInstances: 1,
          failedInstances: 0,
          totalEvents: 4,
        });

        await p.enqueueForOrchestrator(external("first"));
        await p.enqueueForOrchestrator(external("second"), { delayMs: 60_000 });
        await p.enqueueForWorker(activityItem("first", 7));
        await p.enqueueForWorker(activityItem("first", 8));
        assert.deepEqual(await admin.getQueueDepths(), { orchestratorQueue: 1, workerQueue: 2, timerQueue: 1 });
        await p.fetchWorkItem(LOCK, NO_TAGS);
        await p.fetchOrchestrationItem(LOCK);
        assert.deepEqual(await admin.getQueueDepths(), { orchestratorQueue: 0, workerQueue: 1, timerQueue: 1 });
      });
    });
  });
  runManagementConformance(name, factory);
}
