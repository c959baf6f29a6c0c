// Cost of the payload check and of a payload codec: `node dist/bench/payloads.js [instances] [--encrypted-first]`.
// 1. encodeJson (faithfulness walk + JSON + size check) against bare JSON.stringify, for a small
//    and a large payload. 2. Orchestrations/s on a SQLite file with and without the AES-GCM codec.
// Prints one JSON line per measurement.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime, SqliteProvider, withPayloadCodec, type OrchestrationContext, type Provider } from "../src/index.js";
import { encodeJson } from "../src/model/json.js";
import { aesGcmCodec } from "../examples/encrypted-store.js";

function opsPerSec(fn: () => void, minMs = 500): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return n / ((performance.now() - t0) / 1000);
}

const small = { orderId: "o-1001", customer: { name: "Ada", email: "ada@example.com" }, items: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, price: 9.99 })) };
const large = { rows: Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `row ${i}`, tags: ["a", "b"], ok: i % 2 === 0 })) };

for (const [name, value] of [["small (~0.6 KB)", small], ["large (~90 KB)", large]] as const) {
  const bare = opsPerSec(() => JSON.stringify(value));
  const checked = opsPerSec(() => encodeJson(value, "bench"));
  console.log(JSON.stringify({ bench: "encodeJson", payload: name, bytes: JSON.stringify(value).length, bareOpsPerSec: Math.round(bare), checkedOpsPerSec: Math.round(checked), ratio: +(checked / bare).toFixed(2) }));
}

async function hello(provider: Provider, n: number): Promise<number> {
  const rt = new Runtime(provider, { orchestrationConcurrency: 16, workerConcurrency: 32, dispatcherPollIntervalMs: 10, logLevel: "error" });
  rt.registerActivity("Greet", async (_c, v: { name: string }) => ({ greeting: `Hello, ${v.name}!`, at: 1 }));
  rt.registerOrchestration("Hello", async (ctx: OrchestrationContext, v: { name: string }) => ctx.scheduleActivity("Greet", v));
  await rt.start();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => rt.client.startOrchestration(`h-${i}`, "Hello", { name: `user ${i}` })));
  for (let i = 0; i < n; i++) await rt.client.waitForOrchestration(`h-${i}`, 120_000);
  const perSec = n / ((performance.now() - t0) / 1000);
  await rt.shutdown(500);
  return perSec;
}

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 300);
const dir = mkdtempSync(join(tmpdir(), "dx-bench-codec-"));
try {
  const key = randomBytes(32);
  const runPlain = async (): Promise<number> => {
    const plain = await SqliteProvider.open(`sqlite:${join(dir, "plain.db")}`);
    const rate = await hello(plain, n);
    await plain.close();
    return rate;
  };
  const runEncrypted = async (): Promise<number> => {
    const encRaw = await SqliteProvider.open(`sqlite:${join(dir, "enc.db")}`);
    const rate = await hello(withPayloadCodec(encRaw, aesGcmCodec(key)), n);
    await encRaw.close();
    return rate;
  };
  // `--encrypted-first` swaps the order, to tell the codec's cost from warm-up and load drift.
  const encryptedFirst = process.argv.includes("--encrypted-first");
  const encRate = encryptedFirst ? await runEncrypted() : 0;
  const plainRate = await runPlain();
  const encRate2 = encryptedFirst ? encRate : await runEncrypted();
  console.log(JSON.stringify({ bench: "hello on a SQLite file", instances: n, plainOrchPerSec: Math.round(plainRate), aesGcmOrchPerSec: Math.round(encRate2), ratio: +(encRate2 / plainRate).toFixed(2), encryptedFirst }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
