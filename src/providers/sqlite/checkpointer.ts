// WAL checkpoints on a worker thread: a checkpoint fsyncs, and doing it inside a commit on the
// main thread would stall the event loop (and every turn) for the whole write-back.
import { Worker } from "node:worker_threads";
import { resolveDriver } from "../driver.js";

const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.modulePath);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const checkpoint = () => { try { db.pragma("wal_checkpoint(PASSIVE)"); } catch { /* retried next tick */ } };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m !== "close") return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage("closed");
});
`;

export class WalCheckpointer {
  #worker: Worker;
  #closed = false;

  constructor(path: string, intervalMs: number) {
    const modulePath = resolveDriver("better-sqlite3");
    this.#worker = new Worker(SOURCE, { eval: true, workerData: { path, intervalMs, modulePath } });
    this.#worker.unref();
    // A failed checkpointer only means checkpoints fall back to the main connection's backstop.
    this.#worker.on("error", () => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#worker;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void w.terminate().then(() => resolve(), () => resolve()), 2_000);
      t.unref();
      w.once("message", () => {
        clearTimeout(t);
        void w.terminate().then(() => resolve(), () => resolve());
      });
      w.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      w.postMessage("close");
    });
  }
}
