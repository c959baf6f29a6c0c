// PostgreSQL provider: behaviour specific to a shared, multi-process store (schemas, row locks,
// LISTEN/NOTIFY) plus the contract's core paths. Needs a server: DATABASE_URL or the local default.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";

import { DUROXIDE_VERSION, type EventKind, type HistoryEvent } from "../../src/model/events.js";
import {
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InvalidArgumentError,
  ProviderError,
} from "../../src/model/errors.js";
import type { WorkItem } from "../../src/model/workItems.js";
import type { OrchestrationAck, OrchestrationItem, ProviderNotification } from "../../src/providers/provider.js";
import { PG_MIGRATIONS, PostgresProvider, probePostgres, ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { toProviderError } from "../../src/providers/postgres/errors.js";
import { decodeNotification, encodeNotifications } from "../../src/providers/postgres/notifier.js";
import { channelName, validateSchemaName } from "../../src/providers/postgres/schemaName.js";

const URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const unreachable = await probePostgres(URL);
const skipReason = unreachable === null ? false : `PostgreSQL unreachable at ${URL}: ${unreachable}`;
if (skipReason !== false && process.env["CI"] !== "true") {
  process.stderr.write(`\n*** SKIPPING PostgreSQL provider tests: ${skipReason} ***\n\n`);
}

// ---- fixtures -------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

function start(instance: string): WorkItem & { type: "StartOrchestration" } {
  return { type: "StartOrchestration", instance, orchestration: "Orch", input: "{}", version: "1.0.0", parent: null, executionId: 1 };
}

function ev(instance: string, executionId: number, eventId: number, kind: EventKind): HistoryEvent {
  return {
    eventId,
    sourceEventId: null,
    instanceId: instance,
    executionId,
    timestampMs: Date.now(),
    duroxideVersion: DUROXIDE_VERSION,
    ...kind,
  } as HistoryEvent;
}

function startedEv(instance: string, executionId = 1): HistoryEvent {
  return ev(instance, executionId, 1, {
    type: "OrchestrationStarted",
    name: "Orch",
    version: "1.0.0",
    input: "{}",
    parentInstance: null,
    parentId: null,
    parentExecutionId: null,
  });
}

function act(instance: string, id: number, opts: { sessionId?: string; tag?: string } = {}): WorkItem & { type: "ActivityExecute" } {
  const item: WorkItem & { type: "ActivityExecute" } = {
    type: "ActivityExecute",
    instance,
    executionId: 1,
    id,
    name: "Act",
    input: `"in-${id}"`,
    orchestrationName: "Orch",
    orchestrationVersion: "1.0.0",
  };
  if (opts.sessionId !== undefined) item.sessionId = opts.sessionId;
  if (opts.tag !== undefined) item.tag = opts.tag;
  return item;
}

function ack(partial: Partial<OrchestrationAck> = {}): OrchestrationAck {
  return {
    executionId: 1,
    historyDelta: [],
    workerItems: [],
    orchestratorItems: [],
    metadata: { orchestrationName: "Orch", orchestrationVersion: "1.0.0" },
    cancelledActivities: [],
    ...partial,
  };
}

/** Fetches and acks the start of `instance`, leaving it Running with an OrchestrationStarted event. */
async function startInstance(p: PostgresProvider, instance: string, extra: Partial<OrchestrationAck> = {}): Promise<void> {
  await p.createInstance(start(instance));
  const item = await p.fetchOrchestrationItem(30_000);
  assert.ok(item);
  assert.equal(item.instance, instance);
  await p.ackOrchestrationItem(item.lockToken, ack({ historyDelta: [startedEv(instance)], ...extra }));
}

async function rejectsPermanentLock(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.retryable, false);
    assert.match(err.message, /lock/i);
    return true;
  });
}

// ---- pure units (no server) -------------------------------------------------------------------

describe("postgres provider units", () => {
  it("validates schema names", () => {
    assert.equal(validateSchemaName("dx_ok_1"), "dx_ok_1");
    for (const bad of ["", "1abc", "a-b", 'x"; DROP', "a b", "x".repeat(64)]) {
      assert.throws(() => validateSchemaName(bad), InvalidArgumentError);
    }
    assert.ok(channelName("x".repeat(63)).length <= 63);
  });

  it("round-trips notification payloads", () => {
    const notes: ProviderNotification[] = [
      { kind: "orchestrator", visibleAtMs: 1234 },
      { kind: "worker" },
      { kind: "instanceChanged", instance: "a;b:c" },
      { kind: "activitiesCancelled", activities: [{ instance: "i", executionId: 2, activityId: 3 }] },
    ];
    const decoded = encodeNotifications(notes).map((b) => decodeNotification(b));
    assert.deepEqual(decoded, notes);
    const many = Array.from({ length: 2000 }, (_, i) => ({ instance: `instance-${i}`, executionId: 1, activityId: i }));
    const bodies = encodeNotifications([{ kind: "activitiesCancelled", activities: many }]);
    assert.ok(bodies.length > 1);
    for (const b of bodies) assert.ok(Buffer.byteLength(b) < 7900);
    const back = bodies.flatMap((b) => {
      const n = decodeNotification(b);
      return n?.kind === "activitiesCancelled" ? n.activities : [];
    });
    assert.deepEqual(back, many);
  });

  it("sends no cross-process instanceChanged for an ack that changed nothing a waiter waits on", () => {
    const none = { status: false, customStatus: false, kv: false };
    assert.deepEqual(encodeNotifications([{ kind: "instanceChanged", instance: "a", changes: none }]), []);
    for (const changes of [{ ...none, status: true }, { ...none, customStatus: true }, { ...none, kv: true }]) {
      const [body] = encodeNotifications([{ kind: "instanceChanged", instance: "a", changes }]);
      assert.deepEqual(decodeNotification(body!), { kind: "instanceChanged", instance: "a", changes });
    }
  });

  it("classifies pg errors", () => {
    const mk = (code: string): Error => Object.assign(new Error(`e${code}`), { code });
    const retryable = (e: unknown): boolean => (toProviderError("op", e) as ProviderError).retryable;
    assert.equal(retryable(mk("40001")), true); // serialization_failure
    assert.equal(retryable(mk("40P01")), true); // deadlock_detected
    assert.equal(retryable(mk("08006")), true); // connection_failure
    assert.equal(retryable(mk("ECONNREFUSED")), true);
    assert.equal(retryable(new Error("Connection terminated unexpectedly")), true);
    assert.equal(retryable(mk("23505")), false); // unique_violation
    assert.equal(retryable(mk("42P01")), false); // undefined_table
    const passthrough = new InstanceNotFoundError("x");
    assert.equal(toProviderError("op", passthrough), passthrough);
  });
});

// ---- against a server ------------------------------------------------------------------------

if (skipReason !== false && process.env["CI"] === "true") {
  describe("postgres provider", () => {
    it("needs a reachable PostgreSQL in CI", () => {
      assert.fail(`${skipReason} (CI=true: the PostgreSQL provider tests must run)`);
    });
  });
} else {
  describe("postgres provider", { skip: skipReason }, () => {
    const schemas = new ThrowawaySchemas(URL);
    after(async () => {
      await schemas.cleanup();
    });

    it("creates and migrates a schema idempotently, rejecting bad names", async () => {
      const name = schemas.newSchemaName();
      const a = await schemas.open(name);
      const b = await schemas.open(name); // second open: migrations already applied
      const r = await a.unsafeRawPool().query<{ v: number }>(`SELECT MAX(version) AS v FROM "${name}".schema_migrations`);
      assert.equal(r.rows[0]?.v, PG_MIGRATIONS.length);
      assert.equal(b.schema, name);
      await assert.rejects(PostgresProvider.connectWithSchema(URL, "bad-name"), InvalidArgumentError);
      // Concurrent first use of one schema from several processes' worth of pools.
      const fresh = schemas.newSchemaName();
      await Promise.all([schemas.open(fresh), schemas.open(fresh), schemas.open(fresh)]);
    });

    it("keeps two schemas in one database isolated", async () => {
      const a = await schemas.open();
      const b = await schemas.open();
      await a.createInstance(start("shared-id"));
      assert.equal(await b.fetchOrchestrationItem(5000), null);
      await b.createInstance(start("shared-id")); // no clash across schemas
      await a.enqueueForWorker(act("shared-id", 1));
      assert.equal(await b.fetchWorkItem(5000, { tagFilter: { kind: "any" } }), null);
      const ia = await a.fetchOrchestrationItem(5000);
      assert.equal(ia?.instance, "shared-id");
      await a.ackOrchestrationItem(ia.lockToken, ack({ historyDelta: [startedEv("shared-id")] }));
      assert.equal(await b.getStatus("shared-id"), null);
      assert.deepEqual(await b.admin.listInstances(), []);
      assert.deepEqual(await a.admin.listInstances(), ["shared-id"]);
    });

    it("handles mixed-case schema names (quoted tables and channel)", async () => {
      const name = `Dx_Mixed_${process.pid}_${Date.now().toString(36)}`;
      const lower = await schemas.open(name.toLowerCase());
      const a = await schemas.open(name);
      const b = await schemas.open(name);
      const seen: ProviderNotification[] = [];
      a.subscribe((n) => seen.push(n));
      assert.equal(await a.whenListening(), true);
      await b.createInstance(start("mixed"));
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "orchestrator")), "NOTIFY reached the mixed-case channel");
      assert.equal(await lower.fetchOrchestrationItem(5000), null, "the lower-case schema is a different schema");
      assert.equal((await a.fetchOrchestrationItem(5000))?.instance, "mixed");
    });

    it("hands texts back exactly through the one-JSON-column rows of fetch, batch fetch, lease and the worker ack's handover", async () => {
      // What the driver once parsed out of PostgreSQL array literals: quotes, backslashes, braces,
      // commas, the word NULL, empty strings, control characters and non-BMP text.
      const awkward = `{"a":"q\\"b\\\\c"} ,{}NULL "NULL" '' \n\t\r é 😀 \u2028 "" \\`;
      const text = JSON.stringify(awkward);
      const p = await schemas.open();
      // Each hot function's rows come as one JSON column: the driver parses no row of columns.
      const pool = p.unsafeRawPool();
      const columns = new Map<string, string[]>();
      const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<pg.QueryResult>;
      (pool as unknown as { query: unknown }).query = async (...a: unknown[]) => {
        const res = await query(...a);
        const fn = typeof a[0] === "string" ? /\.(dx_(?:fetch_orchs?|lease_works?|ack_plan|ack_work_lock|ack_work_turn))\(/.exec(a[0])?.[1] : undefined;
        if (fn !== undefined) columns.set(fn, res.fields.map((f) => f.name));
        return res;
      };
      const startItem = { ...start("awk"), input: text };
      await p.createInstance(startItem);
      const first = await p.fetchOrchestrationItem(30_000);
      assert.ok(first);
      assert.deepEqual(first.messages, [startItem]);
      const scheduled = ev("awk", 1, 2, { type: "ActivityScheduled", name: "Act", input: text });
      const kv = ev("awk", 1, 3, { type: "KeyValueSet", key: awkward, value: text, lastUpdatedAtMs: 5 });
      const work = { ...act("awk", 2), input: text };
      await p.ackOrchestrationItem(
        first.lockToken,
        ack({ historyDelta: [startedEv("awk"), scheduled, kv], workerItems: [work], metadata: { orchestrationName: "Orch", orchestrationVersion: "1.0.0", status: "Running" } }),
      );

      const [lease] = await p.fetchWorkItems!(4, 30_000, { tagFilter: { kind: "any" } });
      assert.ok(lease);
      assert.deepEqual(lease.item, work);
      assert.equal(lease.attemptCount, 1);
      const completion: WorkItem = { type: "ActivityCompleted", instance: "awk", executionId: 1, id: 2, result: text };
      // The ack locks the instance for us and hands it over as a fetch would (inline history, messages).
      const acked = await p.ackWorkItem(lease.lockToken, completion, { lockInstance: { lockTimeoutMs: 30_000 } });
      const item = acked.item;
      assert.ok(item);
      assert.deepEqual(item.messages, [completion]);
      assert.deepEqual(item.history, [startedEv("awk"), scheduled, kv].map((e, i) => ({ ...e, timestampMs: item.history[i]!.timestampMs })));
      await p.abandonOrchestrationItem(item.lockToken, 0);

      // The batch fetch reads the same rows.
      const [again] = await p.fetchOrchestrationItems!(4, 30_000);
      assert.ok(again);
      assert.deepEqual(again.messages, [completion]);
      assert.deepEqual(again.history.map((e) => e.eventId), [1, 2, 3]);
      assert.equal((again.history[1] as HistoryEvent & { input: string }).input, text);
      assert.deepEqual([...columns.keys()].sort(), ["dx_ack_plan", "dx_ack_work_lock", "dx_fetch_orch", "dx_fetch_orchs", "dx_lease_works"]);
      for (const [fn, names] of columns) assert.deepEqual(names, ["r"], `${fn} answers with one JSON column`);
    });

    it("round-trips create, fetch, ack, worker and completion", async () => {
      const p = await schemas.open();
      await p.createInstance(start("rt"));
      await assert.rejects(p.createInstance(start("rt")), InstanceAlreadyExistsError);

      const first = await p.fetchOrchestrationItem(30_000);
      assert.ok(first);
      assert.equal(first.instance, "rt");
      assert.equal(first.orchestrationName, null);
      assert.equal(first.executionId, 1);
      assert.equal(first.attemptCount, 1);
      assert.deepEqual(first.history, []);
      assert.equal(first.historyError, null);
      assert.equal(first.messages.length, 1);
      assert.equal(first.messages[0]?.type, "StartOrchestration");
      assert.equal(await p.fetchOrchestrationItem(30_000), null, "instance is locked");

      await p.ackOrchestrationItem(
        first.lockToken,
        ack({
          historyDelta: [startedEv("rt"), ev("rt", 1, 2, { type: "ActivityScheduled", name: "Act", input: '"in-2"' })],
          workerItems: [act("rt", 2)],
          metadata: { orchestrationName: "Orch", orchestrationVersion: "1.0.0", status: "Running" },
        }),
      );
      await assert.rejects(p.createInstance(start("rt")), InstanceAlreadyExistsError);
      const st = await p.getStatus("rt");
      assert.equal(st?.status, "Running");
      assert.equal(st?.orchestrationName, "Orch");
      assert.equal((await p.read("rt")).length, 2);
      assert.equal(await p.isActivityPending({ instance: "rt", executionId: 1, activityId: 2 }), true);

      const lease = await p.fetchWorkItem(30_000, { tagFilter: { kind: "defaultOnly" } });
      assert.ok(lease);
      assert.equal(lease.item.id, 2);
      assert.equal(lease.attemptCount, 1);
      assert.equal(await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } }), null, "locked item is not handed out twice");
      await p.renewWorkItemLock(lease.lockToken, 30_000);
      await p.ackWorkItem(lease.lockToken, { type: "ActivityCompleted", instance: "rt", executionId: 1, id: 2, result: '"ok"' });
      await rejectsPermanentLock(p.ackWorkItem(lease.lockToken, null));
      assert.equal(await p.isActivityPending({ instance: "rt", executionId: 1, activityId: 2 }), false);

      const second = await p.fetchOrchestrationItem(30_000);
      assert.ok(second);
      assert.equal(second.orchestrationName, "Orch");
      assert.equal(second.orchestrationVersion, "1.0.0");
      assert.equal(second.history.length, 2);
      assert.deepEqual(
        second.messages.map((m) => m.type),
        ["ActivityCompleted"],
      );
      await p.ackOrchestrationItem(
        second.lockToken,
        ack({
          historyDelta: [
            ev("rt", 1, 3, { type: "ActivityCompleted", result: '"ok"' }),
            ev("rt", 1, 4, { type: "CustomStatusUpdated", status: "almost" }),
            ev("rt", 1, 5, { type: "OrchestrationCompleted", output: '"done"' }),
          ],
          metadata: { orchestrationName: "Orch", orchestrationVersion: "1.0.0", status: "Completed", output: '"done"' },
        }),
      );
      const done = await p.getStatus("rt");
      assert.equal(done?.status, "Completed");
      assert.equal(done?.output, '"done"');
      assert.equal(done?.customStatus, "almost");
      assert.equal(done?.customStatusVersion, 1);
      assert.deepEqual(
        (await p.read("rt")).map((e) => e.eventId),
        [1, 2, 3, 4, 5],
      );

      const info = await p.admin.getInstanceInfo("rt");
      assert.equal(info.status, "Completed");
      assert.equal(info.currentExecutionId, 1);
      const exec = await p.admin.getExecutionInfo("rt", 1);
      assert.equal(exec.eventCount, 5);
      assert.ok(exec.completedAt !== null);
      assert.deepEqual(await p.admin.listInstancesByStatus("Completed"), ["rt"]);
      const metrics = await p.admin.getSystemMetrics();
      assert.equal(metrics.totalInstances, 1);
      assert.equal(metrics.completedInstances, 1);
      assert.equal(metrics.totalEvents, 5);
      assert.deepEqual(await p.admin.getQueueDepths(), { orchestratorQueue: 0, workerQueue: 0, timerQueue: 0 });
      await assert.rejects(p.admin.getInstanceInfo("nope"), /not found/);
    });

    it("never hands one instance to two concurrent fetchers (SKIP LOCKED across provider objects)", async () => {
      const name = schemas.newSchemaName();
      const providers = await Promise.all([schemas.open(name), schemas.open(name), schemas.open(name)]);
      const N = 30;
      for (let i = 0; i < N; i++) {
        await providers[0]!.createInstance(start(`c-${i}`));
        // Extra messages per instance so fetchers collide on the same instance's rows.
        await providers[0]!.enqueueForOrchestrator({ type: "ExternalRaised", instance: `c-${i}`, name: "e", data: "1" });
      }
      const got: OrchestrationItem[] = [];
      await Promise.all(
        providers.flatMap((p) =>
          [0, 1, 2].map(async () => {
            for (;;) {
              const item = await p.fetchOrchestrationItem(60_000);
              if (item === null) return;
              got.push(item);
            }
          }),
        ),
      );
      const ids = got.map((g) => g.instance);
      assert.equal(new Set(ids).size, ids.length, "an instance was fetched twice");
      assert.equal(ids.length, N);
      for (const g of got) assert.equal(g.messages.length, 2);
      assert.equal(new Set(got.map((g) => g.lockToken)).size, N);
    });

    it("lets a lock expire, refetches with a higher attempt count and rejects the stale token", async () => {
      const p = await schemas.open();
      await p.createInstance(start("exp"));
      const a = await p.fetchOrchestrationItem(300);
      assert.ok(a);
      assert.equal(await p.fetchOrchestrationItem(300), null);
      await sleep(400);
      await rejectsPermanentLock(p.renewOrchestrationItemLock(a.lockToken, 1000));
      await rejectsPermanentLock(p.ackOrchestrationItem(a.lockToken, ack({ historyDelta: [startedEv("exp")] })));
      const b = await p.fetchOrchestrationItem(30_000);
      assert.ok(b);
      assert.equal(b.instance, "exp");
      assert.notEqual(b.lockToken, a.lockToken);
      assert.equal(b.attemptCount, 2);
      await rejectsPermanentLock(p.ackOrchestrationItem(a.lockToken, ack()));
      await rejectsPermanentLock(p.ackOrchestrationItem("not-a-token", ack()));
      await p.renewOrchestrationItemLock(b.lockToken, 30_000);
      await p.abandonOrchestrationItem(b.lockToken, 0, true);
      const c = await p.fetchOrchestrationItem(30_000);
      assert.equal(c?.attemptCount, 2, "ignoreAttempt undid the abandoned attempt");
      await p.ackOrchestrationItem(c!.lockToken, ack({ historyDelta: [startedEv("exp")] }));
      assert.equal((await p.read("exp")).length, 1);
    });

    it("rolls back a whole ack on a duplicate event id and keeps the lock", async () => {
      const p = await schemas.open();
      await startInstance(p, "dup");
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "dup", name: "x", data: "1" });
      const item = await p.fetchOrchestrationItem(30_000);
      assert.ok(item);
      await assert.rejects(
        p.ackOrchestrationItem(
          item.lockToken,
          ack({
            historyDelta: [ev("dup", 1, 2, { type: "ExternalEvent", name: "x", data: "1" }), startedEv("dup")],
            workerItems: [act("dup", 9)],
          }),
        ),
        (err: unknown) => err instanceof ProviderError && !err.retryable && /duplicate/.test(err.message),
      );
      assert.equal((await p.read("dup")).length, 1);
      assert.equal(await p.isActivityPending({ instance: "dup", executionId: 1, activityId: 9 }), false);
      // Still locked by the same token, and the messages are still there.
      assert.equal(await p.fetchOrchestrationItem(30_000), null);
      await p.ackOrchestrationItem(item.lockToken, ack({ historyDelta: [ev("dup", 1, 2, { type: "ExternalEvent", name: "x", data: "1" })] }));
      assert.equal((await p.read("dup")).length, 2);
    });

    it("routes worker acks, abandons, tags and sessions", async () => {
      const p = await schemas.open();
      await p.enqueueForWorker(act("w", 1, { tag: "gpu" }));
      await p.enqueueForWorker(act("w", 2));
      assert.equal(await p.fetchWorkItem(30_000, { tagFilter: { kind: "none" } }), null);
      const untagged = await p.fetchWorkItem(30_000, { tagFilter: { kind: "defaultOnly" } });
      assert.equal(untagged?.item.id, 2);
      const tagged = await p.fetchWorkItem(30_000, { tagFilter: { kind: "tags", tags: ["gpu"] } });
      assert.equal(tagged?.item.id, 1);
      assert.equal(tagged?.item.tag, "gpu");
      await p.abandonWorkItem(tagged!.lockToken, 0, false);
      await rejectsPermanentLock(p.abandonWorkItem(tagged!.lockToken));
      const again = await p.fetchWorkItem(30_000, { tagFilter: { kind: "defaultAnd", tags: ["gpu"] } });
      assert.equal(again?.item.id, 1);
      assert.equal(again?.attemptCount, 2);
      await p.ackWorkItem(again!.lockToken, null);
      await p.ackWorkItem(untagged!.lockToken, null);

      // Short worker lock: expiry makes the item fetchable again and the old token useless.
      await p.enqueueForWorker(act("w", 3));
      const short = await p.fetchWorkItem(200, { tagFilter: { kind: "any" } });
      assert.ok(short);
      await sleep(300);
      await rejectsPermanentLock(p.renewWorkItemLock(short.lockToken, 1000));
      await rejectsPermanentLock(p.ackWorkItem(short.lockToken, null));
      const refetched = await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } });
      assert.equal(refetched?.attemptCount, 2);
      await p.ackWorkItem(refetched!.lockToken, null);

      // Sessions: owner A pins the session, B cannot take its items, A can.
      await p.enqueueForWorker(act("w", 4, { sessionId: "s1" }));
      await p.enqueueForWorker(act("w", 5, { sessionId: "s1" }));
      assert.equal(await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } }), null, "no session config: session items hidden");
      const a1 = await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" }, session: { ownerId: "A", lockTimeoutMs: 300 } });
      assert.equal(a1?.item.id, 4);
      assert.equal(await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" }, session: { ownerId: "B", lockTimeoutMs: 300 } }), null);
      const a2 = await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" }, session: { ownerId: "A", lockTimeoutMs: 300 } });
      assert.equal(a2?.item.id, 5);
      assert.equal(await p.renewSessionLocks(["A"], 300, 60_000), 1);
      await p.ackWorkItem(a1!.lockToken, null);
      await p.ackWorkItem(a2!.lockToken, null);
      await sleep(350);
      assert.equal(await p.renewSessionLocks(["A"], 300, 60_000), 0, "expired session is not renewed");
      assert.equal(await p.cleanupOrphanedSessions(0), 1);
      assert.equal(await p.cleanupOrphanedSessions(0), 0);
    });

    it("enqueues a worker completion atomically with the ack and wakes the orchestrator", async () => {
      const p = await schemas.open();
      await startInstance(p, "wc", { workerItems: [act("wc", 2)] });
      const seen: ProviderNotification[] = [];
      p.subscribe((n) => seen.push(n));
      const lease = await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } });
      assert.ok(lease);
      await p.ackWorkItem(lease.lockToken, {
        type: "ActivityFailed",
        instance: "wc",
        executionId: 1,
        id: 2,
        details: { category: "application", kind: "ActivityFailed", message: "boom", retryable: false },
      });
      assert.ok(seen.some((n) => n.kind === "orchestrator"));
      const item = await p.fetchOrchestrationItem(30_000);
      assert.equal(item?.messages[0]?.type, "ActivityFailed");
    });

    it("withdraws cancelled activities (insert before delete) and signals the worker", async () => {
      const p = await schemas.open();
      const seen: ProviderNotification[] = [];
      p.subscribe((n) => seen.push(n));
      await p.createInstance(start("cx"));
      const first = await p.fetchOrchestrationItem(30_000);
      assert.ok(first);
      // Scheduled and cancelled in the same turn: nets to nothing; unknown ids are a no-op.
      await p.ackOrchestrationItem(
        first.lockToken,
        ack({
          historyDelta: [startedEv("cx")],
          workerItems: [act("cx", 2), act("cx", 3)],
          cancelledActivities: [
            { instance: "cx", executionId: 1, activityId: 2 },
            { instance: "cx", executionId: 1, activityId: 77 },
          ],
        }),
      );
      assert.equal(await p.isActivityPending({ instance: "cx", executionId: 1, activityId: 2 }), false);
      assert.equal(await p.isActivityPending({ instance: "cx", executionId: 1, activityId: 3 }), true);

      // Activity 3 is running on a worker when the next turn cancels it.
      const lease = await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } });
      assert.equal(lease?.item.id, 3);
      await p.enqueueForOrchestrator({ type: "CancelInstance", instance: "cx", reason: "stop" });
      const second = await p.fetchOrchestrationItem(30_000);
      assert.ok(second);
      seen.length = 0;
      await p.ackOrchestrationItem(
        second.lockToken,
        ack({ historyDelta: [ev("cx", 1, 2, { type: "OrchestrationCancelRequested", reason: "stop" })], cancelledActivities: [{ instance: "cx", executionId: 1, activityId: 3 }] }),
      );
      const cancelled = seen.find((n) => n.kind === "activitiesCancelled");
      assert.deepEqual(cancelled, { kind: "activitiesCancelled", activities: [{ instance: "cx", executionId: 1, activityId: 3 }] });
      assert.ok(seen.some((n) => n.kind === "instanceChanged" && n.instance === "cx"));
      await rejectsPermanentLock(p.renewWorkItemLock(lease!.lockToken, 1000));
      await rejectsPermanentLock(p.ackWorkItem(lease!.lockToken, { type: "ActivityCompleted", instance: "cx", executionId: 1, id: 3, result: "1" }));
      assert.equal(await p.fetchOrchestrationItem(30_000), null, "the rejected completion was not enqueued");
    });

    it("delivers notifications across provider objects over LISTEN/NOTIFY and survives a reconnect", async () => {
      const name = schemas.newSchemaName();
      const listenerSide = await schemas.open(name);
      const writer = await schemas.open(name);
      const other = await schemas.open(); // another schema: must not wake listenerSide
      const seen: ProviderNotification[] = [];
      listenerSide.subscribe((n) => seen.push(n));
      assert.equal(await listenerSide.whenListening(), true);

      await other.createInstance(start("elsewhere"));
      await other.enqueueForWorker(act("elsewhere", 1));
      await writer.createInstance(start("n1"));
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "orchestrator")), "orchestrator wake-up arrived");
      await writer.enqueueForWorker(act("n1", 1));
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "worker")), "worker wake-up arrived");
      const item = await writer.fetchOrchestrationItem(30_000);
      assert.equal(item?.instance, "n1", "the other schema's instance is not visible here");
      await writer.ackOrchestrationItem(
        item!.lockToken,
        ack({
          // A custom status: an ack that changes nothing a waiter waits on sends no instanceChanged.
          historyDelta: [startedEv("n1"), ev("n1", 1, 2, { type: "CustomStatusUpdated", status: "s" })],
          orchestratorItems: [{ type: "TimerFired", instance: "n1", executionId: 1, id: 3, fireAtMs: Date.now() + 60_000 }],
        }),
      );
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "instanceChanged" && n.instance === "n1" && n.changes?.customStatus === true)));
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "orchestrator" && n.visibleAtMs > Date.now() + 30_000)), "timer wake-up time");

      // A provider does not hear its own NOTIFYs twice over the network: local delivery is direct.
      const own: ProviderNotification[] = [];
      writer.subscribe((n) => own.push(n));
      assert.equal(await writer.whenListening(), true);
      await writer.enqueueForWorker(act("n1", 2));
      await sleep(200);
      assert.equal(own.filter((n) => n.kind === "worker").length, 1);

      // Drop the LISTEN connection: it reconnects (with a catch-up wake-up) and keeps delivering.
      seen.length = 0;
      listenerSide.simulateListenerDisconnect();
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "worker"), 5000), "catch-up wake-up after reconnect");
      seen.length = 0;
      await writer.enqueueForOrchestrator({ type: "ExternalRaised", instance: "n1", name: "e", data: "1" });
      assert.ok(await waitFor(() => seen.some((n) => n.kind === "orchestrator"), 5000), "delivery after reconnect");
    });

    it("returns only missing history when the caller already holds it (knownHistory)", async () => {
      const p = await schemas.open();
      await startInstance(p, "kh");
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "kh", name: "e", data: "1" });
      const hit = await p.fetchOrchestrationItem(30_000, { knownHistory: new Map([["kh", { executionId: 1, lastEventId: 1 }]]) });
      assert.ok(hit);
      assert.deepEqual(hit.history, []);
      assert.equal(hit.historyAfterEventId, 1);
      await p.ackOrchestrationItem(hit.lockToken, ack({ historyDelta: [ev("kh", 1, 2, { type: "ExternalEvent", name: "e", data: "1" })] }));

      // Stale cache (event 2 was appended elsewhere) or wrong execution: full history.
      for (const known of [{ executionId: 1, lastEventId: 1 }, { executionId: 2, lastEventId: 2 }]) {
        await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "kh", name: "e", data: "2" });
        const miss = await p.fetchOrchestrationItem(30_000, { knownHistory: new Map([["kh", known]]) });
        assert.ok(miss);
        assert.equal(miss.historyAfterEventId, 0);
        assert.deepEqual(
          miss.history.map((e) => e.eventId),
          [1, 2],
        );
        await p.abandonOrchestrationItem(miss.lockToken);
        const m = await p.fetchOrchestrationItem(30_000);
        await p.ackOrchestrationItem(m!.lockToken, ack());
      }
    });

    it("drops orphan messages without blocking other instances, and keeps messages of real instances", async () => {
      const p = await schemas.open();
      await startInstance(p, "real");
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "ghost", name: "e", data: "1" });
      await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "ghost", name: "q", data: "1" });
      await p.enqueueForOrchestrator({ type: "CancelInstance", instance: "ghost2", reason: "x" });
      await p.enqueueForOrchestrator({ type: "QueueMessage", instance: "real", name: "q", data: "2" });
      const item = await p.fetchOrchestrationItem(30_000);
      assert.equal(item?.instance, "real");
      assert.deepEqual(
        item?.messages.map((m) => m.type),
        ["QueueMessage"],
      );
      const left = await p.unsafeRawPool().query(`SELECT instance_id FROM "${p.schema}".orchestrator_queue`);
      assert.deepEqual(
        left.rows.map((r: { instance_id: string }) => r.instance_id),
        ["real"],
      );
      await p.ackOrchestrationItem(item!.lockToken, ack());
      assert.equal(await p.fetchOrchestrationItem(30_000), null);

      // A message for an instance whose delayed start is queued waits for the start.
      await p.enqueueForOrchestrator(start("later"), { delayMs: 400 });
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "later", name: "e", data: "1" }, { requireInstance: true });
      assert.equal(await p.fetchOrchestrationItem(30_000), null);
      await sleep(450);
      const later = await p.fetchOrchestrationItem(30_000);
      assert.deepEqual(
        later?.messages.map((m) => m.type),
        ["StartOrchestration", "ExternalRaised"],
      );
      await assert.rejects(
        p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "nobody", name: "e", data: "1" }, { requireInstance: true }),
        InstanceNotFoundError,
      );
    });

    it("moves unreadable queue rows aside and reports unreadable history", async () => {
      const p = await schemas.open();
      const raw = p.unsafeRawPool();
      const s = `"${p.schema}"`;
      await raw.query(
        `INSERT INTO ${s}.orchestrator_queue (instance_id, work_item, item_type, visible_at, created_at) VALUES ('bad', '{not json', NULL, 0, 0)`,
      );
      await raw.query(`INSERT INTO ${s}.worker_queue (work_item, visible_at, created_at) VALUES ('[]', 0, 0)`);
      await startInstance(p, "hist");
      assert.equal(await p.fetchWorkItem(30_000, { tagFilter: { kind: "any" } }), null);
      const dl = await raw.query<{ queue: string }>(`SELECT queue FROM ${s}.dead_letters ORDER BY id`);
      assert.deepEqual(
        dl.rows.map((r) => r.queue),
        ["orchestrator", "worker"],
      );

      await raw.query(`UPDATE ${s}.history SET event_data = 'garbage' WHERE instance_id = 'hist'`);
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "hist", name: "e", data: "1" });
      const item = await p.fetchOrchestrationItem(30_000);
      assert.ok(item);
      assert.ok(item.historyError !== null && item.historyError.length > 0);
      assert.deepEqual(item.history, []);
      await assert.rejects(p.read("hist"), ProviderError);
    });

    it("materialises KV in kv_delta and merges it into kv_store on terminal turns", async () => {
      const p = await schemas.open();
      const kvSet = (id: number, key: string, value: string): HistoryEvent =>
        ev("kv", 1, id, { type: "KeyValueSet", key, value, lastUpdatedAtMs: 1000 + id });
      await startInstance(p, "kv");
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "kv", name: "e", data: "1" });
      let item = await p.fetchOrchestrationItem(30_000);
      await p.ackOrchestrationItem(item!.lockToken, ack({ historyDelta: [kvSet(2, "a", "1"), kvSet(3, "b", "2"), ev("kv", 1, 4, { type: "KeyValueCleared", key: "b" })] }));
      assert.equal(await p.getKvValue("kv", "a"), "1");
      assert.equal(await p.getKvValue("kv", "b"), null);
      assert.deepEqual(await p.getKvAllValues("kv"), { a: "1" });

      // Continue as new: the delta is merged, the next execution's snapshot holds it.
      await p.enqueueForOrchestrator({ type: "ExternalRaised", instance: "kv", name: "e", data: "2" });
      item = await p.fetchOrchestrationItem(30_000);
      assert.deepEqual(item?.kvSnapshot, {});
      await p.ackOrchestrationItem(
        item!.lockToken,
        ack({
          historyDelta: [ev("kv", 1, 5, { type: "OrchestrationContinuedAsNew", input: "{}" })],
          metadata: { orchestrationName: "Orch", orchestrationVersion: "1.0.0", status: "ContinuedAsNew", output: "{}" },
          orchestratorItems: [
            { type: "ContinueAsNew", instance: "kv", orchestration: "Orch", input: "{}", version: "1.0.0", carryForwardEvents: [], initialCustomStatus: null, parent: null },
          ],
        }),
      );
      item = await p.fetchOrchestrationItem(30_000);
      assert.ok(item);
      assert.deepEqual(Object.keys(item.kvSnapshot), ["a"]);
      assert.equal(item.kvSnapshot["a"]?.value, "1");
      assert.equal(item.kvSnapshot["a"]?.lastUpdatedAtMs, 1002);
      await p.ackOrchestrationItem(
        item.lockToken,
        ack({
          executionId: 2,
          historyDelta: [startedEv("kv", 2), ev("kv", 2, 2, { type: "KeyValuesCleared" }), ev("kv", 2, 3, { type: "KeyValueSet", key: "c", value: "3", lastUpdatedAtMs: 5 })],
        }),
      );
      assert.deepEqual(await p.getKvAllValues("kv"), { c: "3" });
      assert.equal(await p.getKvValue("kv", "a"), null, "clear-all tombstones kv_store keys");
      assert.equal((await p.getStatus("kv"))?.executionId, 2);
      assert.deepEqual(await p.admin.listExecutions("kv"), [1, 2]);
      assert.equal((await p.read("kv")).length, 3);
      assert.equal((await p.readExecution("kv", 1)).length, 5);
    });

    it("closes cleanly and refuses work afterwards", async () => {
      const p = await PostgresProvider.connectWithSchema(URL, schemas.newSchemaName(), { maxConnections: 2 });
      p.subscribe(() => undefined);
      await p.whenListening();
      await p.close();
      await p.close();
      await assert.rejects(p.fetchOrchestrationItem(1000), (e: unknown) => e instanceof ProviderError && !e.retryable);
      // The server no longer has our connections (pool and LISTEN client).
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      const r = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE $1`, [`%LISTEN "duroxide_${p.schema}"%`]);
      await c.end();
      assert.equal(r.rows[0].n, 0);
    });
  });
}

describe("postgres provider setup", { skip: skipReason !== false }, () => {
  before(() => undefined);
  it("rejects an unreachable server with a retryable ProviderError", async () => {
    await assert.rejects(
      PostgresProvider.connectWithSchema("postgres://postgres@127.0.0.1:1/test", "dx_unused", { connectionTimeoutMs: 2000 }),
      (e: unknown) => e instanceof ProviderError && e.retryable,
    );
  });
});
