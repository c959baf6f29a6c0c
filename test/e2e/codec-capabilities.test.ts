// The payload codec wrapper offers exactly the capabilities of the store it wraps (the runtime
// detects optional Provider members by presence), on both stores: a guard over every member of
// Provider and ProviderAdmin, and the suspension (onNondeterminism: "suspend") behind a codec,
// with the suspension's error encoded in the store and decoded for readers.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Runtime, SqliteProvider, withPayloadCodec, type OrchestrationContext, type Provider, type RuntimeOptions } from "../../src/index.js";
import type { ProviderAdmin } from "../../src/providers/admin.js";
import { ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { aesGcmCodec } from "../../examples/encrypted-store.js";
import { encodePayloadText } from "../../src/definitions/codec.js";
import type { DeadLetter } from "../../src/providers/admin.js";
import { PG_URL, PROVIDERS } from "./harness.js";

const SECRET = "SECRET-c0dec5u5p";
const codec = aesGcmCodec(randomBytes(32));

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];

// Typed as records over the interfaces' keys: a member added to Provider or ProviderAdmin does not
// compile here until it is listed, so the checks below cover it.
const PROVIDER_MEMBERS: Record<keyof Provider, true> = {
  name: true,
  notifiesAcrossProcesses: true,
  fetchOrchestrationItem: true,
  fetchOrchestrationItems: true,
  ackOrchestrationItem: true,
  abandonOrchestrationItem: true,
  renewOrchestrationItemLock: true,
  enqueueForOrchestrator: true,
  createInstance: true,
  createInstanceWithTurn: true,
  enqueueForWorker: true,
  fetchWorkItem: true,
  fetchWorkItems: true,
  ackWorkItem: true,
  ackWorkItemWithTurn: true,
  renewWorkItemLock: true,
  abandonWorkItem: true,
  isActivityPending: true,
  renewSessionLocks: true,
  cleanupOrphanedSessions: true,
  read: true,
  readExecution: true,
  getStatus: true,
  getKvValue: true,
  getKvAllValues: true,
  suspendOrchestrationItem: true,
  pendingWork: true,
  subscribe: true,
  admin: true,
  close: true,
};
const OPTIONAL_MEMBERS: Record<OptionalKeys<Provider>, true> = {
  notifiesAcrossProcesses: true,
  admin: true,
  fetchOrchestrationItems: true,
  fetchWorkItems: true,
  ackWorkItemWithTurn: true,
  createInstanceWithTurn: true,
  suspendOrchestrationItem: true,
  pendingWork: true,
};
const ADMIN_MEMBERS: Record<keyof ProviderAdmin, true> = {
  listInstances: true,
  listInstancesByStatus: true,
  listExecutions: true,
  getInstanceInfo: true,
  getExecutionInfo: true,
  readHistory: true,
  getSystemMetrics: true,
  getQueueDepths: true,
  listChildren: true,
  listInstancesPage: true,
  getInstanceTree: true,
  deleteInstance: true,
  deleteInstanceBulk: true,
  pruneExecutions: true,
  pruneExecutionsBulk: true,
  getOrchestrationStats: true,
  deadLetters: true,
};

const member = (o: object, k: string): unknown => (o as Record<string, unknown>)[k];

/** What the runtime sees of a member: a capability (function, object, true) or nothing. */
function shape(v: unknown): string {
  if (v === undefined || v === null || v === false) return "absent";
  return typeof v;
}

/** Asserts the wrapper offers each member of `keys` exactly when `store` does. */
function assertSameMembers(store: object, wrapped: object, keys: object, where: string): string[] {
  const offered: string[] = [];
  for (const k of Object.keys(keys)) {
    assert.equal(shape(member(wrapped, k)), shape(member(store, k)), `${where}.${k}: the wrapper must offer it exactly when the store does`);
    if (shape(member(store, k)) !== "absent") offered.push(k);
  }
  return offered;
}

/** The store with its optional members hidden (as a third-party store without them). */
function withoutOptionals(store: Provider): Provider {
  const admin = store.admin && { ...store.admin };
  if (admin) delete admin.deadLetters;
  return new Proxy(store, {
    get(target, k) {
      if (k === "admin") return admin;
      if (typeof k === "string" && k in OPTIONAL_MEMBERS) return undefined;
      const v: unknown = Reflect.get(target, k, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A fresh store of `kind`, plus a scan of everything it stored as text. */
async function freshStore(kind: string, schemas: () => ThrowawaySchemas) {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dx-codec-cap-"));
    const file = join(dir, "store.db");
    return {
      open: (): Promise<Provider> => SqliteProvider.open(`sqlite:${file}`),
      scan: async (): Promise<string> =>
        ["", "-wal", "-shm"]
          .map((s) => file + s)
          .filter((f) => existsSync(f))
          .map((f) => readFileSync(f).toString("latin1"))
          .join("\n"),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const s = schemas();
  const schema = s.newSchemaName();
  return {
    open: (): Promise<Provider> => s.open(schema),
    scan: async (): Promise<string> => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        const tables = await c.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
          [schema],
        );
        assert.ok(tables.rows.length >= 4, "found the store's tables");
        let text = "";
        for (const { table_name } of tables.rows) {
          const r = await c.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${table_name}" t`);
          text += r.rows.map((x) => x.row).join("\n") + "\n";
        }
        return text;
      } finally {
        await c.end();
      }
    },
    destroy: () => s.dropSchema(schema),
  };
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const INPUT = `card ${SECRET}`;
const good = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Step", INPUT);
  await ctx.waitForEvent("go");
  return ctx.scheduleActivity("Step", 2);
};
const broken = async (ctx: OrchestrationContext) => {
  await ctx.scheduleActivity("Charge", INPUT);
  await ctx.waitForEvent("go");
  return ctx.scheduleActivity("Step", 2);
};

describe("payload codec: dead letters", () => {
  it("a dead letter's item comes back decoded (a retry re-encodes it); an undecodable one cannot be retried", async () => {
    const store = await SqliteProvider.inMemory();
    try {
      const item = { type: "StartOrchestration" as const, instance: "d-1", orchestration: "Flow", input: encodePayloadText(codec, `"${SECRET}"`), version: null, parent: null, executionId: 1 };
      const letter: DeadLetter = { id: 7, queue: "orchestrator", instanceId: "d-1", error: "test", createdAtMs: 0, payload: JSON.stringify(item), item };
      const admin = { ...store.admin!, deadLetters: { listDeadLetters: async () => [letter], getDeadLetter: async () => letter, discardDeadLetter: async () => true } };
      const fake = new Proxy(store, { get: (t, k) => (k === "admin" ? admin : ((v: unknown) => (typeof v === "function" ? v.bind(t) : v))(Reflect.get(t, k, t))) });
      const got = await withPayloadCodec(fake, codec).admin!.deadLetters!.getDeadLetter(7);
      assert.equal(got?.item?.type === "StartOrchestration" ? got.item.input : null, `"${SECRET}"`);
      assert.equal(got?.payload, letter.payload, "the stored text is kept as it was");
      const listed = await withPayloadCodec(fake, aesGcmCodec(randomBytes(32))).admin!.deadLetters!.listDeadLetters();
      assert.equal(listed[0]?.item, null, "wrong key: not retryable");
    } finally {
      await store.close();
    }
  });
});

for (const kind of PROVIDERS)
  describe(`payload codec capabilities [${kind}]`, () => {
    let schemas: ThrowawaySchemas | null = null;
    const getSchemas = () => (schemas ??= new ThrowawaySchemas(PG_URL, `dx_codeccap_${process.pid}`));
    after(async () => schemas?.cleanup());

    it("the wrapper offers every Provider and admin member the store has, and none it lacks", async () => {
      const store = await freshStore(kind, getSchemas);
      const p = await store.open();
      try {
        const wrapped = withPayloadCodec(p, codec);
        const offered = assertSameMembers(p, wrapped, PROVIDER_MEMBERS, "provider");
        // The optional capabilities this store has (the guard must have seen them); pendingWork is
        // the test kit's, which runs on SQLite only, and only PostgreSQL notifies across processes.
        const expected = ["fetchOrchestrationItems", "fetchWorkItems", "ackWorkItemWithTurn", "createInstanceWithTurn", "suspendOrchestrationItem", "admin"];
        expected.push(kind === "sqlite" ? "pendingWork" : "notifiesAcrossProcesses");
        for (const k of expected) assert.ok(offered.includes(k), `${kind} offers ${k}`);
        assert.ok(p.admin && wrapped.admin);
        const adminOffered = assertSameMembers(p.admin, wrapped.admin, ADMIN_MEMBERS, "admin");
        assert.ok(adminOffered.includes("deadLetters"));

        const bare = withoutOptionals(p);
        const bareWrapped = withPayloadCodec(bare, codec);
        assertSameMembers(bare, bareWrapped, PROVIDER_MEMBERS, "provider without optionals");
        for (const k of Object.keys(OPTIONAL_MEMBERS).filter((k) => k !== "admin"))
          assert.equal(shape(member(bareWrapped, k)), "absent", `${k} is not offered when the store lacks it`);
        assert.equal(bareWrapped.admin?.deadLetters, undefined);
        // What the wrapper offers works: pendingWork reads the store.
        if (wrapped.pendingWork) assert.equal((await wrapped.pendingWork()).runnable, false);
      } finally {
        await p.close();
        await store.destroy();
      }
    });

    it("an activity failure's last heartbeat is stored encoded and read back decoded", async () => {
      const store = await freshStore(kind, getSchemas);
      const raw = await store.open();
      const p = withPayloadCodec(raw, codec);
      const rt = new Runtime(p, { logLevel: "error", dispatcherPollIntervalMs: 10 });
      rt.registerActivity("Beats", async (ctx) => {
        ctx.heartbeat({ progress: SECRET });
        throw new Error("boom");
      });
      rt.registerOrchestration("Beat", async (ctx: OrchestrationContext) => {
        try {
          return await ctx.scheduleActivity("Beats", null);
        } catch {
          return "caught";
        }
      });
      await rt.start();
      try {
        await rt.client.startOrchestration("h-1", "Beat");
        assert.equal((await rt.client.waitForOrchestration("h-1", 10_000)).output, "caught");
        const beat = (events: Awaited<ReturnType<Provider["read"]>>) => {
          const e = events.find((x) => x.type === "ActivityFailed");
          return e && "details" in e && e.details.category === "application" ? e.details.lastHeartbeat : undefined;
        };
        assert.equal(beat(await p.read("h-1")), JSON.stringify({ progress: SECRET }));
        const stored = beat(await raw.read("h-1"));
        assert.ok(stored !== undefined && !stored.includes(SECRET), "stored encoded");
        assert.ok(!(await store.scan()).includes(SECRET), "no payload in the clear in the store");
      } finally {
        await rt.shutdown(200);
        await p.close();
        await store.destroy();
      }
    });

    it('onNondeterminism "suspend" behind a codec suspends (never fails), shows the error decoded, stores it encoded, and resumes with fitting code', async () => {
      const store = await freshStore(kind, getSchemas);
      // Every node is stopped at the end, even when an assertion fails half-way.
      const running = new Set<() => Promise<void>>();
      const node = async (handler: typeof good, options: RuntimeOptions = {}) => {
        const raw = await store.open();
        const p = withPayloadCodec(raw, codec);
        const rt = new Runtime(p, { logLevel: "error", dispatcherPollIntervalMs: 10, ...options });
        rt.registerActivity("Step", async (_c, n: unknown) => n);
        rt.registerActivity("Charge", async (_c, n: unknown) => n);
        rt.registerOrchestration("Flow", handler);
        await rt.start();
        const stop = async () => {
          running.delete(stop);
          await rt.shutdown(200);
          await p.close();
        };
        running.add(stop);
        return { raw, p, rt, stop };
      };
      try {
        const v1 = await node(good);
        await v1.rt.client.startOrchestration("s-1", "Flow");
        await until("waiting for go", async () => (await v1.rt.client.readHistory("s-1")).some((e) => e.type === "ExternalSubscribed"));
        await v1.stop();

        const bad = await node(broken, { onNondeterminism: "suspend", nondeterminismRetryMs: 300, maxAttempts: 2 });
        const c = bad.rt.client;
        await c.raiseEvent("s-1", "go");
        const st = await until("suspension", async () => {
          const s = await c.getStatus("s-1");
          assert.equal(s.status, "Running", `not suspended: ${s.error ?? ""}`);
          return s.suspension ? s : null;
        });
        // Decoded for the reader: the divergence quotes the activity input.
        assert.match(st.suspension!, /nondeterministic: .*Charge/);
        assert.ok(st.suspension!.includes(SECRET), st.suspension);
        const state = await c.getInstanceState("s-1");
        assert.equal(state.suspension?.category(), "configuration");
        assert.ok(state.suspension?.displayMessage().includes(SECRET));
        // Encoded in the store: a reader without the codec sees no payload, and neither does a scan.
        const undecoded = await bad.raw.getStatus("s-1");
        assert.ok(undecoded?.suspension && undecoded.suspension.category === "configuration");
        assert.ok(undecoded.suspension.message !== null && !undecoded.suspension.message.includes(SECRET), "stored suspension is encoded");
        assert.ok(!(await store.scan()).includes(SECRET), "no payload in the clear in the store while suspended");
        await new Promise((r) => setTimeout(r, 700));
        assert.equal((await c.getStatus("s-1")).status, "Running", "never failed, never poisoned");
        await bad.stop();

        const fixed = await node(good);
        const r = await fixed.rt.client.waitForOrchestration("s-1", 10_000);
        assert.equal(r.status, "Completed", r.error);
        assert.equal(r.output, 2);
        assert.equal((await fixed.rt.client.getStatus("s-1")).suspension, undefined);

        // The default ("fail") stores the same error as the instance's failure: encoded too, read decoded.
        await fixed.rt.client.startOrchestration("f-1", "Flow");
        await until("f-1 waiting", async () => (await fixed.rt.client.readHistory("f-1")).some((e) => e.type === "ExternalSubscribed"));
        await fixed.stop();
        const failing = await node(broken);
        await failing.rt.client.raiseEvent("f-1", "go");
        const f = await failing.rt.client.waitForOrchestration("f-1", 10_000);
        assert.equal(f.status, "Failed");
        assert.ok((f.error ?? "").includes(SECRET), f.error);
        const info = await failing.p.admin!.getInstanceInfo("f-1");
        assert.ok(info.failure?.category === "configuration" && info.failure.message?.includes(SECRET), "management reads decode the failure");
        const rawInfo = await failing.raw.admin!.getInstanceInfo("f-1");
        assert.ok(rawInfo.failure?.category === "configuration" && !rawInfo.failure.message?.includes(SECRET), "the stored failure is encoded");
        await failing.stop();
        assert.ok(!(await store.scan()).includes(SECRET), "no payload in the clear in the store after the failure");
      } finally {
        for (const stop of [...running]) await stop();
        await store.destroy();
      }
    });
  });
