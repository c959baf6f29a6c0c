// The dashboard in a real headless Chromium, served by startDashboardServer over a populated
// SQLite file and PostgreSQL schema: the list with filters, search and keyset paging, the
// instance page with its timeline, tree and events, the system page, escaping of an XSS id,
// actions refused without the flag and protected against cross-site requests with it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import type { Browser, Page } from "playwright-core";
import { Client, type Provider } from "../../src/index.js";
import { startDashboardServer, type DashboardServer } from "../../src/dashboard/index.js";
import { chromiumAvailable, CHROMIUM, launchChromium } from "./browser.js";
import { IDS, XSS_ID } from "./fixtures.js";
import { populatedStore, STORE_KINDS, type TestStore } from "./stores.js";

// Globals of the page, for the callbacks that run inside it.
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): { textContent: string | null } | null;
};
declare const location: { hash: string };

const hashOf = (id: string) => `#/instance/${encodeURIComponent(id)}`;

if (!chromiumAvailable() && process.env["CI"] !== "true") {
  process.stderr.write(`\n*** SKIPPING dashboard browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n\n`);
} else {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const kind of STORE_KINDS) {
    describe(`[${kind}] dashboard in Chromium`, () => {
      let store: TestStore;
      let provider: Provider;
      let client: Client;
      let readOnly: DashboardServer;
      let withActions: DashboardServer;
      let page: Page;
      const dialogs: string[] = [];
      const pageErrors: string[] = [];

      before(async () => {
        store = await populatedStore(kind);
        provider = await store.open();
        client = new Client(provider);
        readOnly = await startDashboardServer(client, { port: 0 });
        withActions = await startDashboardServer(client, { port: 0, allowActions: true });
        page = await browser.newPage();
        page.on("dialog", (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        page.on("pageerror", (e) => pageErrors.push(e.message));
      });
      after(async () => {
        await page?.close();
        await readOnly?.close();
        await withActions?.close();
        await provider?.close();
        await store?.destroy();
      });

      async function open(server: DashboardServer, hash: string, ready: string): Promise<void> {
        await page.goto(`${server.url}${hash}`);
        await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 10_000 });
      }
      const rowIds = () => page.$$eval("#instance-rows tr[data-id]", (rows) => rows.map((r) => r.getAttribute("data-id")));

      it("the list shows every instance, in every status", async () => {
        await open(readOnly, "#/", "list");
        const ids = await rowIds();
        assert.equal(ids.length, 12);
        for (const id of Object.values(IDS)) assert.ok(ids.includes(id), `lists ${id}`);
        const badges = await page.$$eval("#instance-rows .badge", (b) => [...new Set(b.map((x) => x.textContent))].sort());
        assert.deepEqual(badges, ["Completed", "ContinuedAsNew", "Failed", "Running"]);
        assert.equal(await page.textContent("#read-only").catch(() => null), null, "the list has no action note");
      });

      it("filters by status and name, searches by id, pages with the cursor", async () => {
        await open(readOnly, "#/", "list");
        await page.selectOption("#f-status", "Failed");
        await page.click("form#filters button[type=submit]");
        await page.waitForFunction(() => location.hash.includes("status=Failed") && document.body.dataset.ready === "list");
        assert.deepEqual((await rowIds()).sort(), [IDS.cancelled, IDS.failed].sort());

        await open(readOnly, "#/?name=Leaf", "list");
        const leaves = await rowIds();
        assert.equal(leaves.length, 3);
        assert.ok(leaves.every((id) => id!.startsWith(`${IDS.parent}::sub::`)));

        await open(readOnly, "#/", "list");
        await page.fill("#f-id", XSS_ID);
        await page.click("#f-search");
        await page.waitForFunction(() => location.hash.includes("id=") && document.body.dataset.ready === "list");
        assert.deepEqual(await rowIds(), [XSS_ID]);
        await open(readOnly, "#/?id=nobody-has-this", "list");
        assert.match((await page.textContent("#instance-rows"))!, /No instance with that id/);

        await open(readOnly, "#/?limit=5", "list");
        const first = await rowIds();
        assert.equal(first.length, 5);
        assert.equal(await page.isDisabled("#page-newer"), true);
        await page.click("#page-older");
        await page.waitForFunction(() => document.querySelector("#page-label")?.textContent?.startsWith("Page 2"));
        const second = await rowIds();
        assert.equal(second.length, 5);
        assert.equal(second.filter((id) => first.includes(id)).length, 0, "page 2 repeats nothing of page 1");
        await page.click("#page-older");
        await page.waitForFunction(() => document.querySelector("#page-label")?.textContent?.startsWith("Page 3"));
        assert.equal((await rowIds()).length, 2);
        assert.equal(await page.isDisabled("#page-older"), true);
        await page.click("#page-newer");
        await page.waitForFunction(() => document.querySelector("#page-label")?.textContent?.startsWith("Page 2"));
        assert.deepEqual(await rowIds(), second);
      });

      it("the instance page: error, timeline bars with retries, events", async () => {
        await open(readOnly, hashOf(IDS.failed), "instance");
        assert.equal(await page.textContent("#instance-id"), IDS.failed);
        assert.match((await page.textContent("#error"))!, /card declined/);
        const bars = await page.$$eval("#timeline .span-row", (rows) =>
          rows.map((r) => [r.getAttribute("data-kind"), r.getAttribute("data-outcome"), r.getAttribute("data-attempt")]),
        );
        assert.deepEqual(bars, [
          ["activity", "failed", "1"],
          ["timer", "completed", "1"],
          ["activity", "failed", "2"],
          ["timer", "completed", "1"],
          ["activity", "failed", "3"],
        ]);
        const title = await page.getAttribute("#timeline .span-row:nth-of-type(1) .tl-bar", "title");
        assert.match(title!, /activity Flaky: failed after \d+ ms — card declined/);
        assert.equal(await page.$$eval("#events tbody tr", (r) => r.length), 12);

        await open(readOnly, hashOf(IDS.completed), "instance");
        assert.match((await page.textContent("#output"))!, /"charged": 42/);
        assert.match((await page.textContent("#input"))!, /"amount": 42/);
        assert.equal(await page.textContent("#custom-status"), "done");
        assert.match((await page.textContent("#kv"))!, /stage/);

        await open(readOnly, hashOf(IDS.waiting), "instance");
        const waits = await page.$$eval("#timeline .span-row", (rows) => rows.map((r) => [r.getAttribute("data-kind"), r.getAttribute("data-outcome")]));
        assert.deepEqual(waits, [["event", "pending"]]);
        assert.equal(await page.textContent("#custom-status"), "waiting for approval");

        await open(readOnly, hashOf(IDS.loop), "instance");
        assert.deepEqual(await page.$$eval("#executions a", (a) => a.map((x) => x.textContent)), ["#1", "#2", "#3"]);
        await page.click("#executions a:first-child");
        await page.waitForFunction(() => location.hash.endsWith("?execution=1") && document.body.dataset.ready === "instance");
        assert.match((await page.textContent("#events"))!, /OrchestrationContinuedAsNew/);
      });

      it("the tree of children links both ways", async () => {
        await open(readOnly, hashOf(IDS.parent), "instance");
        const kids = await page.$$eval("#tree ul.tree > li > ul > li > a", (a) => a.map((x) => x.textContent));
        assert.equal(kids.length, 3);
        const subBars = await page.$$eval('#timeline .span-row[data-kind="suborchestration"]', (r) => r.length);
        assert.equal(subBars, 3);
        await page.click(`#tree a:text-is("${kids[0]}")`);
        await page.waitForFunction((id) => document.querySelector("#instance-id")?.textContent === id && document.body.dataset.ready === "instance", kids[0]);
        assert.equal(await page.textContent("#parent-link"), IDS.parent);
        await page.click("#parent-link");
        await page.waitForFunction((id) => document.querySelector("#instance-id")?.textContent === id, IDS.parent);
      });

      it("an XSS instance id renders as text", async () => {
        await open(readOnly, "#/", "list");
        assert.equal(await page.textContent(`#instance-rows tr[data-id="${XSS_ID.replace(/"/g, '\\"')}"] a`), XSS_ID);
        await open(readOnly, hashOf(XSS_ID), "instance");
        assert.equal(await page.textContent("#instance-id"), XSS_ID);
        assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0, "no <img> element was created");
        await page.waitForTimeout(200);
        assert.deepEqual(dialogs, [], "no alert ran");
        assert.deepEqual(pageErrors, []);
      });

      it("the system page counts instances by status and shows queue depths", async () => {
        await open(readOnly, "#/system", "system");
        assert.equal(await page.textContent("#m-total .card-value"), "12");
        assert.equal(await page.textContent("#m-failed .card-value"), "2");
        assert.equal(await page.textContent("#m-running .card-value"), "2");
        assert.ok(Number(await page.textContent("#q-timer .card-value")) >= 1);
      });

      it("actions are refused without --allow-actions", async () => {
        await open(readOnly, hashOf(IDS.waiting), "instance");
        assert.match((await page.textContent("#read-only"))!, /--allow-actions/);
        assert.equal(await page.$("#cancel"), null);
        const r = await page.evaluate(async (id) => {
          const cfg = (await (await fetch("api/config")).json()) as { csrfToken: string };
          const res = await fetch(`api/instances/${encodeURIComponent(id)}/cancel`, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-Duroxide-CSRF": cfg.csrfToken },
            body: "{}",
          });
          return { status: res.status, body: (await res.json()) as { error: string } };
        }, IDS.waiting);
        assert.equal(r.status, 403);
        assert.match(r.body.error, /actions are disabled/);
        assert.equal((await client.getStatus(IDS.waiting)).status, "Running");
      });

      it("with --allow-actions: the page raises events; cross-site requests are refused", async () => {
        const before = (await client.getQueueDepths()).orchestratorQueue;
        await open(withActions, hashOf(IDS.waiting), "instance");
        await page.fill("#raise-name", "approve");
        await page.fill("#raise-data", '{"by":"carol"}');
        await page.click("#raise");
        await page.waitForSelector(".flash.info");
        assert.match((await page.textContent("#flash"))!, /Raised approve on order-waiting/);
        assert.equal((await client.getQueueDepths()).orchestratorQueue, before + 1);

        const url = `${withActions.url}api/instances/${encodeURIComponent(IDS.waiting)}/cancel`;
        const forged: { headers: Record<string, string>; why: RegExp }[] = [
          { headers: { "Content-Type": "application/json" }, why: /x-duroxide-csrf/ },
          { headers: { "Content-Type": "text/plain", "X-Duroxide-CSRF": "x" }, why: /JSON body/ },
          { headers: { "Content-Type": "application/json", Origin: "http://evil.example" }, why: /cross-origin/ },
          { headers: { "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site" }, why: /cross-site/ },
        ];
        for (const f of forged) {
          const res = await fetch(url, { method: "POST", headers: f.headers, body: "{}" });
          assert.equal(res.status, 403);
          assert.match(((await res.json()) as { error: string }).error, f.why);
        }
        // A page on another origin cannot read the CSRF secret (no CORS), so its POST fails too.
        const other = await browser.newPage();
        try {
          await other.goto(`${readOnly.url}app.css`);
          const status = await other.evaluate(async (target) => {
            try {
              const res = await fetch(target, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}", mode: "cors" });
              return res.status;
            } catch {
              return "blocked";
            }
          }, url);
          assert.equal(status, "blocked");
        } finally {
          await other.close();
        }
        assert.equal((await client.getStatus(IDS.waiting)).status, "Running");

        await open(withActions, hashOf(IDS.timer), "instance");
        await page.fill("#cancel-reason", "from the browser");
        await page.click("#cancel");
        await page.waitForSelector(".flash.info");
        assert.equal((await client.getQueueDepths()).orchestratorQueue, before + 2);
      });

      it("live refresh: the list follows the store", async () => {
        await open(readOnly, "#/", "list");
        assert.ok((await rowIds()).includes(IDS.completed));
        await client.deleteInstance(IDS.completed);
        await page.waitForFunction((id) => !document.querySelector(`#instance-rows tr[data-id="${id}"]`), IDS.completed, { timeout: 10_000 });
      });
    });
  }

  describe("dashboard access token", () => {
    it("off loopback a token is generated and required; the page URL sets a cookie", async () => {
      const store = await populatedStore("sqlite");
      const provider = await store.open();
      const server = await startDashboardServer(new Client(provider), { port: 0, host: "0.0.0.0" });
      const page = await browser.newPage();
      try {
        assert.ok(server.token && server.token.length >= 24);
        assert.match(server.url, /\?token=/);
        const base = `http://127.0.0.1:${server.port}/`;
        assert.equal((await fetch(`${base}api/instances`)).status, 401);
        assert.equal((await fetch(`${base}api/instances`, { headers: { Authorization: "Bearer wrong" } })).status, 401);
        assert.equal((await fetch(`${base}api/instances`, { headers: { Authorization: `Bearer ${server.token}` } })).status, 200);
        await page.goto(server.url);
        await page.waitForSelector('body[data-ready="list"]');
        assert.equal(await page.$$eval("#instance-rows tr[data-id]", (r) => r.length), 12);
      } finally {
        await page.close();
        await server.close();
        await provider.close();
        await store.destroy();
      }
    });

    it("a loopback dashboard refuses a foreign Host (DNS rebinding)", async () => {
      const store = await populatedStore("sqlite");
      const provider = await store.open();
      const server = await startDashboardServer(new Client(provider), { port: 0 });
      try {
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const req = request({ host: "127.0.0.1", port: server.port, path: "/api/instances", headers: { Host: `attacker.example:${server.port}` } }, (res) => {
            res.resume();
            resolve(res.statusCode);
          });
          req.on("error", reject);
          req.end();
        });
        assert.equal(status, 421);
        assert.equal((await fetch(`${server.url}api/instances`)).status, 200);
      } finally {
        await server.close();
        await provider.close();
        await store.destroy();
      }
    });
  });
}
