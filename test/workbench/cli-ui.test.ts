// `duroxide ui` as a child process: prints its URL, serves the store read-only, refuses to bind
// off loopback without printing a token, and exits 0 on SIGTERM.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { BIN } from "./cliRunner.js";
import { populatedStore, type TestStore } from "./stores.js";

function startUi(args: string[], uiArgs: string[] = []): Promise<{ info: { url: string; port: number; allowActions: boolean }; stop(): Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, "ui", "--port", "0", "--json", ...uiArgs], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => reject(new Error(`ui exited ${code}: ${err}`)));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      try {
        const info = JSON.parse(out) as { url: string; port: number; allowActions: boolean };
        child.removeAllListeners("exit");
        resolve({
          info,
          stop: () =>
            new Promise((r) => {
              child.on("exit", (code) => r(code));
              child.kill("SIGTERM");
            }),
        });
      } catch {
        // not the whole document yet
      }
    });
  });
}

describe("duroxide ui (the real bin)", () => {
  let store: TestStore;
  before(async () => {
    store = await populatedStore("sqlite");
  });
  after(async () => {
    await store?.destroy();
  });

  it("serves the store on loopback, read-only, and stops on SIGTERM", async () => {
    const ui = await startUi(store.args);
    try {
      assert.match(ui.info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(ui.info.allowActions, false);
      const list = (await (await fetch(`${ui.info.url}api/instances`)).json()) as { items: unknown[] };
      assert.equal(list.items.length, 12);
      const cfg = (await (await fetch(`${ui.info.url}api/config`)).json()) as { allowActions: boolean };
      assert.equal(cfg.allowActions, false);
    } finally {
      assert.equal(await ui.stop(), 0);
    }
  });

  it("off loopback it requires the token it prints", async () => {
    const ui = await startUi(store.args, ["--host", "0.0.0.0"]);
    try {
      const token = new URL(ui.info.url).searchParams.get("token");
      assert.ok(token && token.length >= 24);
      const base = `http://127.0.0.1:${ui.info.port}/`;
      assert.equal((await fetch(`${base}api/instances`)).status, 401);
      assert.equal((await fetch(`${base}api/instances`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
    } finally {
      assert.equal(await ui.stop(), 0);
    }
  });
});
