// Provider conformance: writes that come at the same time (which a store may commit together, as
// both stores' group commit does) store exactly what the same writes one after another store, and
// one of them failing fails alone, with the error it gets alone.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { InstanceAlreadyExistsError } from "../../model/errors.js";
import type { HistoryEvent } from "../../model/events.js";
import { ack, activityItem, bootstrap, completed, event, external, fetchFor, sleep, started, startItem } from "./fixtures.js";
import { ANY, isPermanentProviderError, type SuiteContext } from "./harness.js";
import type { OrchestrationItem, Provider } from "../provider.js";

const N = 12;

/** A turn with a bit of everything the ack writes: history, an activity, a message, custom status, KV. */
function turn(instance: string) {
  return ack(1, {
    historyDelta: [
      started(instance),
      event(instance, 1, 2, { type: "ActivityScheduled", name: "Act", input: "1" }),
      event(instance, 1, 3, { type: "CustomStatusUpdated", status: `cs-${instance.slice(1)}` }),
      event(instance, 1, 4, { type: "KeyValueSet", key: "k", value: `v-${instance.slice(1)}`, lastUpdatedAtMs: 1004 }),
    ],
    workerItems: [activityItem(instance, 2)],
    orchestratorItems: [external(instance, "self")],
    metadata: { status: "Running" },
  });
}

/** What is stored for an instance, with its own name and the clock taken out, to compare two. */
async function stored(p: Provider, instance: string): Promise<string> {
  const history = (await p.read(instance)).map((e: HistoryEvent) => ({ ...e, timestampMs: 0 }));
  const state = { history, status: await p.getStatus(instance), kv: await p.getKvAllValues(instance) };
  return JSON.stringify(state).replaceAll(instance, "X").replaceAll(instance.slice(1), "n");
}

async function fetchAll(p: Provider, count: number, lockMs: number): Promise<Map<string, OrchestrationItem>> {
  const items = new Map<string, OrchestrationItem>();
  for (let i = 0; i < count * 3 && items.size < count; i++) {
    const item = await p.fetchOrchestrationItem(lockMs);
    if (item === null) break;
    items.set(item.instance, item);
  }
  assert.equal(items.size, count, "every instance fetched");
  return items;
}

export function registerConcurrentWrites({ test, LOCK, SHORT, PAST }: SuiteContext): void {
  describe("concurrent writes (group commit)", () => {
    test("concurrent creations, acks and worker acks store exactly what sequential ones store", async (p) => {
      const seq = Array.from({ length: N }, (_, i) => `s${i}`);
      const con = Array.from({ length: N }, (_, i) => `c${i}`);
      for (const i of seq) await p.createInstance(startItem(i));
      await Promise.all(con.map((i) => p.createInstance(startItem(i))));

      const items = await fetchAll(p, 2 * N, LOCK);
      for (const i of seq) await p.ackOrchestrationItem(items.get(i)!.lockToken, turn(i));
      await Promise.all(con.map((i) => p.ackOrchestrationItem(items.get(i)!.lockToken, turn(i))));

      const leases = new Map<string, string>();
      for (let k = 0; k < 2 * N; k++) {
        const lease = await p.fetchWorkItem(LOCK, ANY);
        assert.ok(lease, "every activity leased");
        assert.equal(lease.item.type, "ActivityExecute");
        if (lease.item.type === "ActivityExecute") leases.set(lease.item.instance, lease.lockToken);
      }
      for (const i of seq) await p.ackWorkItem(leases.get(i)!, completed(i, 2, `"r-${i.slice(1)}"`));
      await Promise.all(con.map((i) => p.ackWorkItem(leases.get(i)!, completed(i, 2, `"r-${i.slice(1)}"`))));
      assert.equal(await p.fetchWorkItem(LOCK, ANY), null);

      for (let k = 0; k < N; k++) {
        assert.equal(await stored(p, con[k]!), await stored(p, seq[k]!), `instance ${k}`);
      }
      // Each instance's next turn sees its own message and its own completion, whichever way acked.
      const next = await fetchAll(p, 2 * N, LOCK);
      for (const [instance, item] of next) {
        assert.deepEqual(item.messages, [external(instance, "self"), completed(instance, 2, `"r-${instance.slice(1)}"`)], instance);
      }
    });

    test("an ack that fails among concurrent ones fails alone, with its own error; the others commit", async (p) => {
      const names = ["g0", "g1", "g2", "dup", "lost", "exp", "g3", "g4"];
      for (const i of names) {
        await bootstrap(p, i);
        await p.enqueueForOrchestrator(external(i));
      }
      const tokens = new Map<string, string>();
      for (const i of names) tokens.set(i, (await fetchFor(p, i, i === "exp" ? SHORT : LOCK)).lockToken);
      await sleep(PAST);
      const next = (i: string) => ack(1, { historyDelta: [event(i, 1, 2, { type: "ExternalEvent", name: "evt", data: "1" })] });
      const results = await Promise.allSettled(
        names.map((i) => {
          if (i === "dup") return p.ackOrchestrationItem(tokens.get(i)!, ack(1, { historyDelta: [event(i, 1, 1, { type: "ExternalEvent", name: "evt", data: "1" })] }));
          if (i === "lost") return p.ackOrchestrationItem("no-such-token", next(i));
          return p.ackOrchestrationItem(tokens.get(i)!, next(i));
        }),
      );
      const outcome = new Map(names.map((n, k) => [n, results[k]!]));
      const reason = (i: string): unknown => {
        const r = outcome.get(i)!;
        assert.equal(r.status, "rejected", `${i} must fail`);
        return r.status === "rejected" ? r.reason : undefined;
      };
      assert.ok(isPermanentProviderError()(reason("dup")));
      assert.ok(isPermanentProviderError(/not held/)(reason("lost")));
      assert.ok(isPermanentProviderError(/expired/)(reason("exp")));
      for (const i of ["g0", "g1", "g2", "g3", "g4"]) {
        assert.equal(outcome.get(i)!.status, "fulfilled", i);
        assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted", "ExternalEvent"], i);
      }
      for (const i of ["dup", "exp"]) assert.deepEqual((await p.read(i)).map((e) => e.type), ["OrchestrationStarted"], i);
      // The duplicate's lock is still held (its ack changed nothing); it acks properly afterwards.
      await p.ackOrchestrationItem(tokens.get("dup")!, next("dup"));
      assert.deepEqual((await p.read("dup")).map((e) => e.type), ["OrchestrationStarted", "ExternalEvent"]);
    });

    test("a worker ack or a creation that fails among concurrent ones fails alone", async (p) => {
      const names = ["w0", "w1", "w2", "w3"];
      for (const i of names) await bootstrap(p, i, { workerItems: [activityItem(i, 2)] });
      const tokens = new Map<string, string>();
      let expired = "";
      for (let k = 0; k < names.length; k++) {
        // The third lease gets a short lock, which has lapsed when it is acked.
        const lease = await p.fetchWorkItem(k === 2 ? SHORT : LOCK, ANY);
        assert.ok(lease && lease.item.type === "ActivityExecute");
        if (lease.item.type === "ActivityExecute") tokens.set(lease.item.instance, lease.lockToken);
        if (k === 2 && lease.item.type === "ActivityExecute") expired = lease.item.instance;
      }
      assert.ok(expired !== "w0" && expired !== "w1" && expired !== "");
      await sleep(PAST);
      const results = await Promise.allSettled([
        p.createInstance(startItem("n1")),
        ...names.map((i) => p.ackWorkItem(i === "w1" ? "no-such-token" : tokens.get(i)!, completed(i, 2))),
        p.createInstance(startItem("n1")),
        p.createInstance(startItem("w0")),
        p.createInstance(startItem("n2")),
      ]);
      const [c1, , , , , c1again, cExisting, c2] = results;
      assert.equal(c1?.status, "fulfilled");
      assert.equal(c2?.status, "fulfilled");
      assert.ok(c1again?.status === "rejected" && c1again.reason instanceof InstanceAlreadyExistsError);
      assert.ok(cExisting?.status === "rejected" && cExisting.reason instanceof InstanceAlreadyExistsError);
      const acked = new Map(names.map((n, k) => [n, results[k + 1]!]));
      for (const i of names) {
        const r = acked.get(i)!;
        if (i === "w1") assert.ok(r.status === "rejected" && isPermanentProviderError(/not found/)(r.reason), i);
        else if (i === expired) assert.ok(r.status === "rejected" && isPermanentProviderError(/expired/)(r.reason), i);
        else assert.equal(r.status, "fulfilled", i);
      }
      // Exactly the successful completions are queued (plus the two new starts).
      const fetched = new Map<string, OrchestrationItem>();
      for (let k = 0; k < 8; k++) {
        const item = await p.fetchOrchestrationItem(LOCK);
        if (item === null) break;
        fetched.set(item.instance, item);
      }
      assert.deepEqual([...fetched.keys()].sort(), ["n1", "n2", "w0", "w2", "w3"].filter((i) => i !== expired).sort());
      assert.deepEqual(fetched.get("w0")?.messages, [completed("w0", 2)]);
    });
  });
}
