// The dashboard's own HTTP server (used by `duroxide ui`): binds to 127.0.0.1 unless told
// otherwise, requires a token when it binds anywhere else, and refuses requests whose Host is
// not the one it serves (a DNS-rebinding page cannot reach a loopback dashboard).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Client } from "../index.js";
import { createDashboard } from "./dashboard.js";
import { isLoopbackHost, newSecret } from "./security.js";

export interface DashboardServerOptions {
  host?: string;
  /** 0 picks a free port. Default 8233. */
  port?: number;
  allowActions?: boolean;
  /** Required off loopback; generated when absent there. */
  token?: string;
}

export interface DashboardServer {
  /** The URL to open (with `?token=` when a token is required). */
  url: string;
  host: string;
  port: number;
  token: string | null;
  server: Server;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8233;
export const DEFAULT_HOST = "127.0.0.1";

export async function startDashboardServer(client: Client, options: DashboardServerOptions = {}): Promise<DashboardServer> {
  const host = options.host ?? DEFAULT_HOST;
  const loopback = isLoopbackHost(host);
  const token = options.token ?? (loopback ? null : newSecret());
  const handler = createDashboard(client, { allowActions: options.allowActions === true, ...(token ? { token } : {}) });
  const server = createServer((req, res) => {
    if (loopback) {
      const requested = (req.headers.host ?? "").replace(/:\d+$/, "");
      if (!isLoopbackHost(requested)) {
        res.writeHead(421, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("misdirected request: this dashboard answers only on a loopback address\n");
        return;
      }
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const url = `http://${shown}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ""}`;
  return {
    url,
    host,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
