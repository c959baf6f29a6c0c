// Provider conformance: createInstance, duplicate starts and the first fetch.
import { describe } from "node:test";
import assert from "node:assert/strict";

import { InstanceAlreadyExistsError, InstanceNotFoundError } from "../../model/errors.js";
import { ORCH_NAME, ORCH_VERSION, ack, bootstrap, external, fetchFor, started, startItem } from "./fixtures.js";
import { type SuiteContext } from "./harness.js";

export function registerInstanceCreation({ test, LOCK }: SuiteContext): void {
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
}
