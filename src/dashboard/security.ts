// Who may read and who may act: an optional access token, a CSRF check on every action, and the
// headers that keep the page from being framed, sniffed or made to load anything foreign.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export const TOKEN_COOKIE = "duroxide_token";
export const CSRF_HEADER = "x-duroxide-csrf";

export function newSecret(): string {
  return randomBytes(24).toString("base64url");
}

export function sameSecret(a: string | undefined | null, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The token a request presents: `Authorization: Bearer`, the cookie, or `?token=` (page loads). */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  return cookie(req, TOKEN_COOKIE) ?? url.searchParams.get("token") ?? undefined;
}

export function setTokenCookie(res: ServerResponse, token: string): void {
  res.setHeader("Set-Cookie", `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
}

/**
 * Actions must come from the dashboard's own page: a JSON body (a cross-site form cannot send
 * one without a preflight), the per-process CSRF secret the page read from /api/config (a
 * cross-site page cannot read it), and no foreign Origin or Sec-Fetch-Site.
 */
export function crossSiteProblem(req: IncomingMessage, csrfSecret: string): string | null {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return `cross-site request refused (Sec-Fetch-Site: ${String(site)})`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return "malformed Origin header";
    }
    if (host !== req.headers.host) return `cross-origin request refused (Origin ${origin})`;
  } else if (origin === "null") return "opaque Origin refused";
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) return "actions take a JSON body (Content-Type: application/json)";
  const header = req.headers[CSRF_HEADER];
  if (!sameSecret(Array.isArray(header) ? header[0] : header, csrfSecret)) return `missing or wrong ${CSRF_HEADER} header`;
  return null;
}

export const PAGE_SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** True for hosts reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
