// createDashboard: the dashboard as one Node request handler (JSON API + static page) over a
// Client. `duroxide ui` serves it; an app can mount it in its own server (plain http, Express,
// Connect: it calls `next()` for paths it does not know when given one).
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  CannotDeleteSubOrchestrationError,
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InstanceStillRunningError,
  InvalidArgumentError,
  type Client,
  type ExecutionStatus,
  type ListInstancesOptions,
} from "../index.js";
import { ASSETS } from "./assets.js";
import { crossSiteProblem, newSecret, PAGE_SECURITY_HEADERS, presentedToken, sameSecret, setTokenCookie } from "./security.js";
import { eventsPage, historyDocument, instanceDetails, instancePageDocument, SystemSampler, treeDocument } from "./views.js";

export interface DashboardOptions {
  /** Allow raise, cancel and delete (default false: the dashboard only reads). */
  allowActions?: boolean;
  /** When set, every request must present it (Bearer header, cookie, or `?token=` once on the page URL). */
  token?: string;
  /** A path prefix to strip when the handler is mounted below one without a framework doing it, e.g. "/ops". */
  basePath?: string;
}

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

const STATUSES: readonly ExecutionStatus[] = ["Running", "Completed", "Failed", "ContinuedAsNew"];
const MAX_BODY_BYTES = 1 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    ...PAGE_SECURITY_HEADERS,
  });
  res.end(text);
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof InstanceNotFoundError) return 404;
  if (err instanceof InvalidArgumentError) return 400;
  if (err instanceof InstanceStillRunningError || err instanceof CannotDeleteSubOrchestrationError || err instanceof InstanceAlreadyExistsError) return 409;
  return 500;
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new HttpError(400, "request body must be a JSON object");
  return v as Record<string, unknown>;
}

function num(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be a number`);
  return n;
}

function listQuery(url: URL): ListInstancesOptions {
  const q: ListInstancesOptions = {};
  const status = url.searchParams.get("status");
  if (status) {
    if (!STATUSES.includes(status as ExecutionStatus)) throw new HttpError(400, `unknown status '${status}'`);
    q.status = status as ExecutionStatus;
  }
  const name = url.searchParams.get("name");
  if (name) q.orchestrationName = name;
  const after = num(url, "createdAfter");
  if (after !== undefined) q.createdAfter = after;
  const before = num(url, "createdBefore");
  if (before !== undefined) q.createdBefore = before;
  const cursor = url.searchParams.get("cursor");
  if (cursor) q.cursor = cursor;
  const limit = num(url, "limit");
  if (limit !== undefined) q.limit = limit;
  return q;
}

export function createDashboard(client: Client, options: DashboardOptions = {}): DashboardHandler {
  const allowActions = options.allowActions === true;
  const token = options.token && options.token.length > 0 ? options.token : null;
  const base = (options.basePath ?? "").replace(/\/+$/, "");
  const csrf = newSecret();
  const sampler = new SystemSampler(client);

  async function api(req: IncomingMessage, path: string, url: URL): Promise<unknown> {
    const method = req.method ?? "GET";
    if (path === "/api/config" && method === "GET") return { allowActions, csrfToken: csrf };
    if (path === "/api/instances" && method === "GET") {
      const search = url.searchParams.get("id");
      if (search) {
        // Search by id: the exact instance, shown as a one-row page.
        const i = await client.getInstanceInfo(search).catch((err: unknown) => {
          if (err instanceof InstanceNotFoundError) return null;
          throw err;
        });
        const items = i
          ? [{ instanceId: i.instanceId, orchestrationName: i.orchestrationName, orchestrationVersion: i.orchestrationVersion, status: i.status, currentExecutionId: i.currentExecutionId, createdAt: i.createdAt, updatedAt: i.updatedAt, parentInstanceId: i.parentInstanceId }]
          : [];
        return { items, instanceIds: items.map((x) => x.instanceId), nextCursor: null };
      }
      return client.listInstances(listQuery(url));
    }
    if (path === "/api/system" && method === "GET") return sampler.sample();
    const m = /^\/api\/instances\/([^/]+)(?:\/(history|events|tree|page|raise|cancel|delete))?$/.exec(path);
    if (!m) throw new HttpError(404, `no such endpoint: ${method} ${path}`);
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      throw new HttpError(400, "malformed instance id in the path");
    }
    const sub = m[2];
    if (method === "GET") {
      if (sub === undefined) return instanceDetails(client, id);
      if (sub === "history") return historyDocument(client, id, num(url, "execution"));
      if (sub === "tree") return treeDocument(client, id);
      if (sub === "page") return instancePageDocument(client, id, num(url, "execution"));
      if (sub === "events") {
        const execution = num(url, "execution");
        if (execution === undefined) throw new HttpError(400, "execution is required");
        return eventsPage(client, id, execution, Math.max(0, num(url, "offset") ?? 0), Math.min(1000, Math.max(1, num(url, "limit") ?? 200)));
      }
      throw new HttpError(405, `${sub} takes POST`);
    }
    if (method !== "POST" || sub === undefined || sub === "history" || sub === "events" || sub === "tree" || sub === "page") throw new HttpError(405, `method ${method} not allowed here`);
    if (!allowActions) throw new HttpError(403, "actions are disabled: start the dashboard with --allow-actions (createDashboard option allowActions)");
    const problem = crossSiteProblem(req, csrf);
    if (problem) throw new HttpError(403, problem);
    const body = await readJsonBody(req);
    if (sub === "raise") {
      if (typeof body["event"] !== "string" || body["event"] === "") throw new HttpError(400, "event must be a non-empty string");
      await client.raiseEvent(id, body["event"], body["data"] ?? null);
      return { instanceId: id, raised: body["event"] };
    }
    if (sub === "cancel") {
      const reason = typeof body["reason"] === "string" ? body["reason"] : "cancelled from the dashboard";
      await client.cancelInstance(id, reason);
      return { instanceId: id, cancelRequested: true };
    }
    return { instanceId: id, ...(await client.deleteInstance(id, body["force"] === true)) };
  }

  return (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    let path = url.pathname;
    if (base !== "") {
      if (path !== base && !path.startsWith(`${base}/`)) {
        if (next) return next();
        return sendJson(res, 404, { error: "not found" });
      }
      path = path.slice(base.length);
    }
    // The page loads its files and API by relative URLs, so its own URL must end with a slash
    // (a framework that strips the mount path keeps the original in `originalUrl`).
    const original = (req as { originalUrl?: unknown }).originalUrl;
    const seen = typeof original === "string" ? new URL(original, "http://dashboard.invalid").pathname : url.pathname;
    if ((path === "" || path === "/") && !seen.endsWith("/")) {
      res.writeHead(308, { Location: `${seen}/${url.search}` });
      res.end();
      return;
    }
    if (token !== null) {
      const presented = presentedToken(req, url);
      if (!sameSecret(presented, token)) return sendJson(res, 401, { error: "a valid access token is required (open the URL printed by `duroxide ui`)" });
      if (url.searchParams.has("token")) setTokenCookie(res, token);
    }
    const asset = req.method === "GET" || req.method === "HEAD" ? ASSETS[path] : undefined;
    if (asset) {
      res.writeHead(200, { "Content-Type": asset.type, "Cache-Control": "no-cache", ...PAGE_SECURITY_HEADERS });
      res.end(req.method === "HEAD" ? undefined : asset.body);
      return;
    }
    if (!path.startsWith("/api/")) {
      if (next) return next();
      return sendJson(res, 404, { error: "not found" });
    }
    api(req, path, url).then(
      (body) => sendJson(res, 200, body),
      (err: unknown) => {
        const status = statusOf(err);
        sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  };
}
