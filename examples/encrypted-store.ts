// Encrypted payloads: every input, output, activity result, event, KV value and custom status is
// encrypted with AES-256-GCM (node:crypto) before it reaches the store, and decrypted on the way
// out. Ids, names and timing stay readable, so queues, management and the CLI still work.
//
//   npm run build && node dist/examples/encrypted-store.js
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Runtime, withPayloadCodec, type OrchestrationContext, type PayloadCodec } from "../src/index.js";
import { openStore, printer, runtimeOptions, type ExampleOptions } from "./support.js";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM: each payload is stored as iv (12 bytes) | auth tag (16 bytes) | ciphertext. A fresh
 * random iv per payload; the tag makes a wrong key or a damaged row fail loudly instead of
 * decrypting to garbage. Keep the 32-byte key in your secret store, not in code.
 */
export function aesGcmCodec(key: Uint8Array): PayloadCodec {
  if (key.byteLength !== 32) throw new RangeError("AES-256-GCM needs a 32-byte key");
  return {
    encode(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decode(stored) {
      const b = Buffer.from(stored);
      const decipher = createDecipheriv("aes-256-gcm", key, b.subarray(0, IV_BYTES));
      decipher.setAuthTag(b.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(b.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    },
  };
}

interface Patient {
  name: string;
  diagnosis: string;
}

async function recordVisit(ctx: OrchestrationContext, patient: Patient): Promise<string> {
  ctx.setCustomStatus(`treating ${patient.name}`);
  const note = await ctx.scheduleActivity<string>("WriteNote", patient);
  ctx.setValue("lastNote", note);
  return note;
}

export async function main(opts: ExampleOptions & { key?: Uint8Array } = {}): Promise<string> {
  const say = printer(opts.quiet);
  const key = opts.key ?? randomBytes(32);
  // One wrapped provider for the runtime and every client that reads the store.
  const provider = withPayloadCodec(await openStore(opts.storeUrl), aesGcmCodec(key));
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("WriteNote", async (_ctx, p: Patient) => `${p.name}: ${p.diagnosis}, follow up in 2 weeks`);
  runtime.registerOrchestration("RecordVisit", recordVisit);
  await runtime.start();
  try {
    const client = runtime.client;
    const id = `visit-${Date.now()}`;
    await client.startOrchestration(id, "RecordVisit", { name: "Ada Lovelace", diagnosis: "mild hypertension" });
    const note = await client.waitForOrchestrationTyped<string>(id, 10_000);
    say(`note (decrypted by the client): ${note}`);
    return note;
  } finally {
    await runtime.shutdown();
    await provider.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
