// Dashboard latency: `npm run bench:dashboard [-- --store=sqlite|postgres|both] [--instances=N] [--events=N]`.
// Fills a store with N instances (default 100,000; bulk-inserted rows, as a long-lived store has)
// plus one real instance with ~10,000 history events, serves the dashboard in-process, and
// measures (1) the list API over HTTP: first page, filtered pages and a deep keyset page, and
// (2) the instance page of the big instance in headless Chromium, from navigation to rendered.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Client, Runtime, SqliteProvider, type OrchestrationContext, type Provider } from "../src/index.js";
import { PostgresProvider, ThrowawaySchemas } from "../src/providers/postgres/index.js";
import { startDashboardServer } from "../src/dashboard/index.js";

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const STORES = arg("store", "both") === "both" ? ["sqlite", "postgres"] : [arg("store", "both")];
const N = Number(arg("instances", "100000"));
const ACTIVITIES = Math.round(Number(arg("events", "10000")) / 2);
const BIG = "big-history";

async function bulkInsert(p: Provider, n: number): Promise<void> {
  const base = Date.now() - n - 60_000;
  if (p instanceof SqliteProvider) {
    const db = p.unsafeRawDatabase();
    const ins = db.prepare(
      `INSERT INTO instances (instance_id, orchestration_name, orchestration_version, current_execution_id, created_at, updated_at, status)
       VALUES (?, ?, '1.0.0', 1, ?, ?, ?)`,
    );
    const exe = db.prepare("INSERT INTO executions (instance_id, execution_id, status, started_at, completed_at) VALUES (?, 1, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const s = i % 100 === 0 ? "Failed" : i % 3 === 0 ? "Running" : "Completed";
        ins.run(`bulk-${String(i).padStart(7, "0")}`, ["Order", "Refund", "Report"][i % 3]!, base + i, base + i, s);
        exe.run(`bulk-${String(i).padStart(7, "0")}`, s, base + i, s === "Running" ? null : base + i);
      }
    })();
    db.exec("ANALYZE");
    return;
  }
  if (p instanceof PostgresProvider) {
    const s = `"${p.schema}"`;
    const status = `CASE WHEN g % 100 = 0 THEN 'Failed' WHEN g % 3 = 0 THEN 'Running' ELSE 'Completed' END`;
    const pool = p.unsafeRawPool();
    await pool.query(
      `INSERT INTO ${s}.instances (instance_id, orchestration_name, orchestration_version, current_execution_id, created_at, updated_at, status)
       SELECT 'bulk-' || lpad(g::text, 7, '0'), (ARRAY['Order','Refund','Report'])[g % 3 + 1], '1.0.0', 1, $2::bigint + g, $2::bigint + g, ${status}
       FROM generate_series(0, $1 - 1) g`,
      [n, base],
    );
    await pool.query(
      `INSERT INTO ${s}.executions (instance_id, execution_id, status, started_at, completed_at)
       SELECT 'bulk-' || lpad(g::text, 7, '0'), 1, ${status}, $2::bigint + g, $2::bigint + g FROM generate_series(0, $1 - 1) g`,
      [n, base],
    );
    await pool.query(`ANALYZE ${s}.instances`);
    await pool.query(`ANALYZE ${s}.executions`);
    return;
  }
  throw new Error("unknown provider");
}

async function bigInstance(p: Provider): Promise<number> {
  const rt = new Runtime(p, { orchestrationConcurrency: 2, workerConcurrency: 32, dispatcherPollIntervalMs: 10, logLevel: "error" });
  rt.registerActivity("Step", async (_ctx, i: number) => i * 2);
  rt.registerOrchestration("Big", async (ctx: OrchestrationContext, n: number) => {
    const batch = [];
    for (let i = 0; i < n; i++) batch.push(ctx.scheduleActivity("Step", i));
    return (await ctx.all(batch)).length;
  });
  await rt.start();
  const c = new Client(p);
  try {
    await c.startOrchestration(BIG, "Big", ACTIVITIES);
    await c.waitForOrchestration(BIG, 600_000);
  } finally {
    await rt.shutdown(1000);
  }
  return (await c.readHistory(BIG)).length;
}

function stats(xs: number[]): { median: number; p95: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 10) / 10;
  return { median: at(0.5), p95: at(0.95), max: at(1) };
}

async function timedGet(url: string, runs: number): Promise<{ median: number; p95: number; max: number; items: number }> {
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < runs + 3; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { items?: unknown[] };
    if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
    if (i >= 3) times.push(performance.now() - t0); // the first three warm statement caches
    items = body.items?.length ?? 0;
  }
  return { ...stats(times), items };
}

async function benchStore(kind: string): Promise<void> {
  let provider: Provider;
  let cleanup: () => Promise<void>;
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dx-bench-ui-"));
    provider = await SqliteProvider.open(`sqlite:${join(dir, "store.db")}`);
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schemas = new ThrowawaySchemas(PG_URL, `dx_bench_ui_${process.pid}`);
    provider = await schemas.open(undefined, { maxConnections: 8 });
    cleanup = () => schemas.cleanup();
  }
  try {
    const t0 = performance.now();
    await bulkInsert(provider, N);
    const events = await bigInstance(provider);
    const fillMs = Math.round(performance.now() - t0);
    const server = await startDashboardServer(new Client(provider), { port: 0 });
    try {
      const api = `${server.url}api/instances`;
      const first = await timedGet(`${api}?limit=50`, 30);
      const failed = await timedGet(`${api}?limit=50&status=Failed`, 30);
      const named = await timedGet(`${api}?limit=50&name=Refund&status=Completed`, 30);
      // A page deep in the store: walk 200 pages of 100 first, then time the page after.
      let cursor: string | null = null;
      for (let i = 0; i < 200; i++) {
        const r = (await (await fetch(`${api}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).json()) as { nextCursor: string | null };
        cursor = r.nextCursor;
      }
      const deep = await timedGet(`${api}?limit=50&cursor=${encodeURIComponent(cursor ?? "")}`, 30);
      const byId = await timedGet(`${api}?id=bulk-0050000`, 30);
      const detail = await timedGet(`${server.url}api/instances/${BIG}/history`, 5);

      const browser = await chromium.launch({
        executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      });
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      // The renderer's main-thread busy time (CDP TaskDuration): what the page costs apart from
      // waiting for a CPU on a shared machine.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Performance.enable");
      const taskSeconds = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration")?.value ?? 0;
      const render = async (hash: string, ready: string): Promise<[number, number]> => {
        await page.goto("about:blank");
        const busy0 = await taskSeconds();
        const t = performance.now();
        await page.goto(`${server.url}${hash}`);
        await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 60_000 });
        return [performance.now() - t, ((await taskSeconds()) - busy0) * 1000];
      };
      const pageTimes: number[] = [];
      const pageBusy: number[] = [];
      const listTimes: number[] = [];
      const listBusy: number[] = [];
      await render(`#/instance/${BIG}`, "instance"); // warm-up
      for (let i = 0; i < 7; i++) {
        const [wall, busy] = await render(`#/instance/${BIG}`, "instance");
        pageTimes.push(wall);
        pageBusy.push(busy);
      }
      for (let i = 0; i < 7; i++) {
        const [wall, busy] = await render("#/", "list");
        listTimes.push(wall);
        listBusy.push(busy);
      }
      const bars = await (async () => {
        await render(`#/instance/${BIG}`, "instance");
        return page.$$eval("#timeline .span-row", (r) => r.length);
      })();
      await browser.close();
      console.log(
        JSON.stringify({
          store: kind,
          instances: N + 1,
          bigInstanceEvents: events,
          fillMs,
          listApiMs: { firstPage: first, statusFilter: failed, nameAndStatus: named, deepPage: deep, searchById: byId },
          bigHistoryApiMs: detail,
          instancePageRenderMs: { ...stats(pageTimes), rendererBusyMs: stats(pageBusy), timelineRowsInDom: bars },
          listPageRenderMs: { ...stats(listTimes), rendererBusyMs: stats(listBusy) },
          loadAverage: (await import("node:os")).loadavg().map((x) => Math.round(x * 10) / 10),
        }),
      );
    } finally {
      await server.close();
    }
  } finally {
    await provider.close();
    await cleanup();
  }
}

for (const s of STORES) await benchStore(s);
