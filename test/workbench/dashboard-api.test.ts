// The dashboard's handler mounted in an app's own server (a path prefix, fall-through to the
// app), its JSON API's status codes and events paging, and the timeline built from a history.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client, type Provider } from "../../src/index.js";
import { buildTimeline, createDashboard } from "../../src/dashboard/index.js";
import { IDS } from "./fixtures.js";
import { populatedStore, type TestStore } from "./stores.js";

describe("createDashboard mounted in an app", () => {
  let store: TestStore;
  let provider: Provider;
  let server: Server;
  let base: string;
  before(async () => {
    store = await populatedStore("sqlite");
    provider = await store.open();
    const dashboard = createDashboard(new Client(provider), { basePath: "/ops/duroxide" });
    server = createServer((req, res) =>
      dashboard(req, res, () => {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("the app");
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await provider.close();
    await store.destroy();
  });

  it("serves the page and API under the prefix and leaves other paths to the app", async () => {
    const redirect = await fetch(`${base}/ops/duroxide`, { redirect: "manual" });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get("location"), "/ops/duroxide/");
    const page = await fetch(`${base}/ops/duroxide/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    assert.match(await page.text(), /<script src="app.js"><\/script>/);
    assert.equal((await fetch(`${base}/ops/duroxide/app.js`)).headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await (await fetch(`${base}/orders`)).text(), "the app");
    const list = (await (await fetch(`${base}/ops/duroxide/api/instances?limit=3`)).json()) as { items: unknown[]; nextCursor: string };
    assert.equal(list.items.length, 3);
    assert.ok(list.nextCursor);
  });

  it("answers API errors with a status and a JSON message", async () => {
    const get = async (path: string) => {
      const r = await fetch(`${base}/ops/duroxide/api/${path}`);
      return { status: r.status, body: (await r.json()) as { error?: string } };
    };
    assert.equal((await get("instances/nope")).status, 404);
    assert.equal((await get("instances?status=Sleeping")).status, 400);
    assert.equal((await get("instances?cursor=%%%")).status, 400);
    assert.equal((await get("instances/%E0%A4%A")).status, 400);
    assert.equal((await get("nothing")).status, 404);
    assert.equal((await get(`instances/${IDS.loop}/history?execution=7`)).status, 404);
    const del = await fetch(`${base}/ops/duroxide/api/instances/${IDS.completed}/delete`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    assert.equal(del.status, 403);
  });

  it("pages through an execution's events", async () => {
    const page = (await (await fetch(`${base}/ops/duroxide/api/instances/${IDS.failed}/page`)).json()) as {
      history: { eventCount: number; events: unknown[]; timeline: { spans: unknown[] } };
      details: { instanceId: string };
      tree: { size: number };
    };
    assert.equal(page.details.instanceId, IDS.failed);
    assert.equal(page.history.eventCount, 12);
    assert.equal(page.history.timeline.spans.length, 5);
    assert.equal(page.tree.size, 1);
    const slice = (await (await fetch(`${base}/ops/duroxide/api/instances/${IDS.failed}/events?execution=1&offset=10&limit=5`)).json()) as {
      events: { eventId: number }[];
      eventCount: number;
    };
    assert.deepEqual(slice.events.map((e) => e.eventId), [11, 12]);
    assert.equal(slice.eventCount, 12);
  });
});

describe("buildTimeline", () => {
  const env = (eventId: number, timestampMs: number, sourceEventId: number | null = null) => ({
    eventId,
    sourceEventId,
    instanceId: "i",
    executionId: 1,
    timestampMs,
    duroxideVersion: "0.1.0",
  });
  it("bars from schedule to settle; abandoned race losers; pending work drawn to now", () => {
    const events = [
      { ...env(1, 0), type: "OrchestrationStarted" as const, name: "O", version: "1.0.0", input: "null", parentInstance: null, parentId: null, parentExecutionId: null },
      { ...env(2, 10), type: "ActivityScheduled" as const, name: "A", input: "1" },
      { ...env(3, 10), type: "TimerCreated" as const, fireAtMs: 1000 },
      { ...env(4, 50, 2), type: "ActivityCompleted" as const, result: "2" },
      { ...env(5, 60), type: "SubOrchestrationScheduled" as const, name: "C", instance: "i::sub::5", input: "null" },
      { ...env(6, 60), type: "ExternalSubscribed" as const, name: "go" },
      { ...env(7, 90), type: "ExternalEvent" as const, name: "go", data: "true" },
      { ...env(8, 95, 5), type: "SubOrchestrationCompleted" as const, result: "null" },
      { ...env(9, 100), type: "OrchestrationCompleted" as const, output: "null" },
    ];
    const t = buildTimeline(events, 5000);
    assert.deepEqual(
      t.spans.map((s) => [s.kind, s.startMs, s.endMs, s.outcome]),
      [
        ["activity", 10, 50, "completed"],
        ["timer", 10, 100, "abandoned"],
        ["suborchestration", 60, 95, "completed"],
        ["event", 60, 90, "completed"],
      ],
    );
    assert.equal(t.spans[2]!.detail, "i::sub::5");
    assert.equal(t.endMs, 100);
    assert.deepEqual(t.markers.map((m) => m.type), ["OrchestrationStarted", "OrchestrationCompleted"]);

    const running = buildTimeline(events.slice(0, 3), 5000);
    assert.deepEqual(running.spans.map((s) => [s.endMs, s.outcome]), [[null, "pending"], [null, "pending"]]);
    assert.equal(running.endMs, 5000);
  });
});
