// Runs every example and checks its result; runs the durability demo as a real child process.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main as helloWorld } from "../../examples/hello-world.js";
import { main as functionChaining } from "../../examples/function-chaining.js";
import { main as fanOutFanIn } from "../../examples/fan-out-fan-in.js";
import { main as humanInTheLoop } from "../../examples/human-in-the-loop.js";
import { main as saga } from "../../examples/saga.js";
import { main as subOrchestrations } from "../../examples/sub-orchestrations.js";
import { main as continueAsNew } from "../../examples/continue-as-new.js";

describe("examples", () => {
  it("hello-world", async () => {
    assert.equal(await helloWorld({ quiet: true }), "Hello, World!");
  });

  it("hello-world on a SQLite file (storeUrl)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dx-examples-"));
    try {
      assert.equal(await helloWorld({ quiet: true, storeUrl: `sqlite:${join(dir, "store.db")}` }), "Hello, World!");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("function-chaining (generator form)", async () => {
    const r = await functionChaining({ quiet: true });
    assert.equal(r.orderId, "o-1001");
    assert.equal(r.total, 34.99);
    assert.equal(r.paymentId, "pay_o-1001");
    assert.equal(r.trackingNumber, "TRK-O-1001");
    assert.match(r.confirmation, /^Dear Ada, order o-1001 is on its way/);
  });

  it("fan-out-fan-in", async () => {
    const r = await fanOutFanIn({ quiet: true });
    assert.deepEqual(r.wordsPerDocument, {
      "intro.md": 8,
      "timers.md": 10,
      "events.md": 6,
      "activities.md": 11,
      "replay.md": 10,
    });
    assert.equal(r.totalWords, 45);
    assert.equal(r.joinTotal, 45);
    assert.deepEqual(r.failed, [{ document: "missing.md", error: "document missing.md not found" }]);
  });

  it("human-in-the-loop: approved path and timeout path", async () => {
    const r = await humanInTheLoop({ quiet: true });
    assert.deepEqual(r.approved, { requestId: "A", outcome: "approved", decidedBy: "alice" });
    assert.deepEqual(r.timedOut, { requestId: "B", outcome: "escalated", decidedBy: "timeout" });
  });

  it("saga: success, then compensation in reverse order", async () => {
    const r = await saga({ quiet: true });
    assert.deepEqual(r.success, { tripId: "T1", booked: true, confirmations: ["FLIGHT-T1", "HOTEL-T1", "CAR-T1"], compensated: [] });
    assert.equal(r.compensated.booked, false);
    assert.equal(r.compensated.error, "no cars available in Oslo");
    assert.deepEqual(r.compensated.compensated, ["CancelHotel", "CancelFlight"]);
  });

  it("sub-orchestrations", async () => {
    const r = await subOrchestrations({ quiet: true });
    assert.equal(r.batchId, "B-7");
    assert.deepEqual(
      r.fulfilled.map((f) => [f.orderId, f.trackingNumber, f.warehouse]),
      [
        ["o-1", "TRK-O-1", "warehouse-south"],
        ["o-2", "TRK-O-2", "warehouse-south"],
        ["o-3", "TRK-O-3", "warehouse-north"],
        ["o-4", "TRK-O-4", "warehouse-south"],
      ],
    );
    assert.equal(new Set(r.childInstances).size, 4, "one child instance per order");
  });

  it("continue-as-new", async () => {
    const r = await continueAsNew({ quiet: true, rounds: 4 });
    assert.equal(r.finalCount, 4);
    assert.equal(r.executions, 4);
    assert.ok(r.lastHistoryLength <= 6, `history stays small, got ${r.lastHistoryLength}`);
  });
});

describe("durability demo", () => {
  it("survives SIGKILL of the worker process and completes (node dist/examples/durability-demo.js)", async () => {
    const script = fileURLToPath(new URL("../../examples/durability-demo.js", import.meta.url));
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [script], { timeout: 30_000 }, (_err, stdout, stderr) => {
        resolve({ code: child.exitCode, stdout, stderr });
      });
    });
    assert.equal(code, 0, `demo failed:\n${stdout}\n${stderr}`);
    for (const step of [1, 2, 3]) assert.match(stdout, new RegExp(`\\[worker pid \\d+\\] step ${step}/6 done`));
    assert.match(stdout, /KILLED worker pid \d+ with SIGKILL/);
    assert.match(stdout, /RESUMING/);
    for (const step of [4, 5, 6]) assert.match(stdout, new RegExp(`\\[fresh runtime pid \\d+\\] step ${step}/6 done`));
    assert.match(stdout, /workflow Completed: \{"report":"nightly-report\.pdf"/);
    assert.match(stdout, /✔ no recorded step ran again after the restart/);
    assert.match(stdout, /✔ workflow completed across a kill -9/);
    // Steps 1-3 finished in the worker and never started again in the resumed process.
    const resumedLines = stdout.split("\n").filter((l) => l.includes("resumed |"));
    for (const step of [1, 2, 3]) assert.ok(!resumedLines.some((l) => l.includes(` step=${step} `)), `step ${step} re-ran`);
  });
});
