// Controls the local PostgreSQL server for outage tests: restart, or stop for a while and start
// again, through pg_ctlcluster (needs root and a Debian cluster "main"). Every change holds
// `flock /tmp/pg-restart.lock`, so concurrent users of the shared server can serialise with it.
// (No tests here; under dist/test `node --test` loads it as a no-op module.)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { probePostgres } from "../../src/providers/postgres/index.js";

const LOCK = "/tmp/pg-restart.lock";

function version(): string | null {
  if (!existsSync("/etc/postgresql")) return null;
  const v = readdirSync("/etc/postgresql").filter((d) => /^\d+$/.test(d));
  return v.length === 1 ? v[0]! : null;
}

/** Null when this process can restart the server behind `url`; otherwise why not. */
export async function cannotControl(url: string): Promise<string | null> {
  if (process.getuid?.() !== 0) return "not root";
  const v = version();
  if (v === null) return "no single PostgreSQL version under /etc/postgresql";
  for (const tool of ["pg_ctlcluster", "flock"])
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  if (!/@(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) return `server ${url} is not local`;
  const problem = await probePostgres(url);
  return problem === null ? null : `server unreachable: ${problem}`;
}

function ctl(action: "restart" | "stop" | "start"): string {
  return `pg_ctlcluster --skip-systemctl-redirect ${version()!} main ${action}`;
}

/**
 * Takes the restart lock (waiting up to `timeoutMs`) and holds it until the returned release is
 * called: a `flock` child keeps the lock while its stdin stays open.
 */
export function acquireRestartLock(timeoutMs: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const p = spawn("flock", ["-w", String(Math.ceil(timeoutMs / 1000)), LOCK, "sh", "-c", "echo locked; cat >/dev/null"], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    p.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve(() => p.stdin.end());
    });
    p.on("exit", (code) => reject(new Error(`could not take ${LOCK} (flock exited ${code})`)));
  });
}

function sh(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("sh", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`'${script}' exited ${code}: ${err}`))));
  });
}

/** Restarts the server (hold the restart lock) (fast shutdown: sessions are terminated with 57P01). */
export function restartServer(): Promise<void> {
  return sh(ctl("restart"));
}

/** Stops the server (hold the restart lock), keeps it down for `downMs`, starts it again. */
export function stopServerFor(downMs: number): Promise<void> {
  return sh(`${ctl("stop")}; sleep ${(downMs / 1000).toFixed(2)}; ${ctl("start")}`);
}

/** Starts the server if it is down and waits until it answers. */
export async function ensureServerUp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probePostgres(url, 1_000)) === null) return;
    await sh(`pg_lsclusters -h | grep -q online || ${ctl("start")}`).catch(() => undefined);
    if (Date.now() > deadline) throw new Error("PostgreSQL did not come back up");
    await new Promise((r) => setTimeout(r, 200));
  }
}
