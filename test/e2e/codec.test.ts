// The payload codec seam on both stores: with an AES-GCM codec (the example's), every payload the
// runtime and client write is unreadable in the SQLite file and in the PostgreSQL tables, while
// the client (given the same wrapped provider) reads every value back in the clear.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  Client,
  PayloadCodecError,
  Runtime,
  SqliteProvider,
  withPayloadCodec,
  type OrchestrationContext,
  type PayloadCodec,
  type Provider,
} from "../../src/index.js";
import { ThrowawaySchemas } from "../../src/providers/postgres/index.js";
import { decodePayloadText, encodePayloadText } from "../../src/definitions/codec.js";
import { aesGcmCodec } from "../../examples/encrypted-store.js";
import { main as encryptedStoreExample } from "../../examples/encrypted-store.js";
import { PG_URL, PROVIDERS } from "./harness.js";

const SECRET = "SECRET-7f3a9c";

/** Uses every kind of payload: input, activity input/result, child input/output, event, queue message, KV, custom status, continue-as-new input, output. */
function register(rt: Runtime): void {
  rt.registerActivity("Seal", async (_c, v: string) => `${v}-sealed`);
  rt.registerOrchestration("Child", async (_ctx: OrchestrationContext, v: string) => `${v}-child`);
  rt.registerOrchestration("Visit", async (ctx: OrchestrationContext, input: { secret: string; round: number }) => {
    if (input.round === 0) return ctx.continueAsNew({ secret: `${input.secret}-again`, round: 1 });
    ctx.setCustomStatus(`status ${input.secret}`);
    const sealed = await ctx.scheduleActivity<string>("Seal", input.secret);
    const child = await ctx.scheduleSubOrchestration<string>("Child", sealed);
    const event = await ctx.waitForEvent<string>("ev");
    const queued = await ctx.dequeueEvent<string>("q");
    ctx.setValue("k", `kv ${input.secret}`);
    return { sealed, child, event, queued };
  });
}

async function runWorkload(provider: Provider): Promise<void> {
  const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
  register(rt);
  await rt.start();
  try {
    const client = new Client(provider);
    await client.startOrchestration("v1", "Visit", { secret: SECRET, round: 0 });
    await client.raiseEvent("v1", "ev", `event ${SECRET}`);
    await client.enqueueEvent("v1", "q", `queued ${SECRET}`);
    const out = await client.waitForOrchestrationTyped("v1", 15_000);
    assert.deepEqual(out, {
      sealed: `${SECRET}-again-sealed`,
      child: `${SECRET}-again-sealed-child`,
      event: `event ${SECRET}`,
      queued: `queued ${SECRET}`,
    });
    // Every read path decodes: status, custom status, KV, history, management.
    const st = await client.getStatus("v1");
    assert.equal(st.customStatus, `status ${SECRET}-again`);
    assert.equal(await client.getValue("v1", "k"), `kv ${SECRET}-again`);
    const history = await client.readHistory("v1");
    const started = history.find((e) => e.type === "OrchestrationStarted");
    assert.deepEqual(started && "input" in started ? JSON.parse(started.input) : null, { secret: `${SECRET}-again`, round: 1 });
    const info = await client.getInstanceInfo("v1");
    assert.equal((info.output as { child: string }).child, `${SECRET}-again-sealed-child`);
  } finally {
    await rt.shutdown(200);
  }
}

const key = randomBytes(32);

describe("payload codec", () => {
  it("round trip: decode(encode(x)) gives x back; text written before the codec is read as it is", () => {
    const codec = aesGcmCodec(key);
    for (const text of ["", "plain", '{"a":[1,"é",null]}', "😀 \u0001 emoji and a control character"]) {
      const stored = encodePayloadText(codec, text);
      assert.ok(!stored.includes(text) || text === "", "encoded text hides the payload");
      assert.equal(decodePayloadText(codec, stored), text);
    }
    assert.equal(decodePayloadText(codec, '{"written":"before"}'), '{"written":"before"}');
    assert.throws(() => decodePayloadText(aesGcmCodec(randomBytes(32)), encodePayloadText(codec, "x")), PayloadCodecError);
    assert.throws(() => withPayloadCodec(null as unknown as Provider, {} as PayloadCodec), TypeError);
  });

  it("the encrypted-store example runs", async () => {
    assert.match(await encryptedStoreExample({ quiet: true }), /^Ada Lovelace: mild hypertension/);
  });

  for (const kind of PROVIDERS) {
    describe(`[${kind}]`, () => {
      let schemas: ThrowawaySchemas | null = null;
      after(async () => schemas?.cleanup());

      /** Runs the workload on a fresh store (with or without the codec) and returns its raw stored text. */
      async function storedText(
        codec: PayloadCodec | null,
        workload: (p: Provider) => Promise<void> = runWorkload,
      ): Promise<{ text: string; reopen: () => Promise<Provider>; done: () => Promise<void> }> {
        if (kind === "sqlite") {
          const dir = mkdtempSync(join(tmpdir(), "dx-codec-"));
          const file = join(dir, "store.db");
          const open = async (): Promise<Provider> => SqliteProvider.open(`sqlite:${file}`);
          const p = await open();
          await workload(codec ? withPayloadCodec(p, codec) : p);
          await p.close();
          const text = ["", "-wal", "-shm"]
            .map((s) => file + s)
            .filter((f) => existsSync(f))
            .map((f) => readFileSync(f).toString("latin1"))
            .join("\n");
          return { text, reopen: open, done: async () => rmSync(dir, { recursive: true, force: true }) };
        }
        schemas ??= new ThrowawaySchemas(PG_URL, `dx_codec_${process.pid}`);
        const schema = schemas.newSchemaName();
        const p = await schemas.open(schema);
        await workload(codec ? withPayloadCodec(p, codec) : p);
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        let text = "";
        try {
          const tables = await c.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            [schema],
          );
          assert.ok(tables.rows.length >= 4, "found the store's tables");
          for (const { table_name } of tables.rows) {
            const r = await c.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${table_name}" t`);
            text += r.rows.map((x) => x.row).join("\n") + "\n";
          }
        } finally {
          await c.end();
        }
        return { text, reopen: () => schemas!.open(schema), done: async () => undefined };
      }

      it("a poison failure quotes the offending message: that quote is encoded too", async () => {
        const poisoned = async (provider: Provider): Promise<void> => {
          const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error", maxAttempts: 1 });
          rt.registerOrchestration("UsesMissing", async (ctx: OrchestrationContext, v: string) => ctx.scheduleActivity("NotRegisteredAnywhere", v));
          await rt.start();
          try {
            await rt.client.startOrchestration("p1", "UsesMissing", `input ${SECRET}`);
            const r = await rt.client.waitForOrchestration("p1", 20_000);
            assert.equal(r.status, "Failed");
            assert.match(r.error ?? "", /^poison: activity 'NotRegisteredAnywhere' .* is not registered on any runtime that fetched it/);
            const st = await provider.getStatus("p1");
            assert.ok(st?.failure?.category === "poison" && st.failure.message.includes(SECRET), "the reader decodes the quote");
          } finally {
            await rt.shutdown(200);
          }
        };
        const plain = await storedText(null, poisoned);
        try {
          assert.ok(plain.text.includes(SECRET), "without a codec the quote is visible to the scan");
        } finally {
          await plain.done();
        }
        const s = await storedText(aesGcmCodec(key), poisoned);
        try {
          assert.ok(!s.text.includes(SECRET), "no payload in the clear, not even quoted in a poison failure");
        } finally {
          await s.done();
        }
      });

      it("without a codec the payloads are plain text in the store (the scan can see them)", async () => {
        const s = await storedText(null);
        try {
          assert.ok(s.text.includes(SECRET), "plain payloads are visible to the scan");
        } finally {
          await s.done();
        }
      });

      it("with the AES-GCM codec no payload is readable in the store; a wrong key fails loudly", async () => {
        const s = await storedText(aesGcmCodec(key));
        try {
          assert.ok(s.text.includes("v1") && s.text.includes("Visit"), "ids and names stay readable");
          assert.ok(!s.text.includes(SECRET), "no payload is stored in the clear");
          assert.ok(!s.text.includes(Buffer.from(SECRET).toString("base64").slice(0, 8)), "nor merely base64-encoded");
          const p = await s.reopen();
          try {
            // Without the codec a reader sees ciphertext, never the value.
            const bare = await new Client(p).getStatus("v1");
            assert.equal(bare.status, "Completed");
            assert.ok(typeof bare.output === "string" && !bare.output.includes(SECRET));
            const wrong = new Client(withPayloadCodec(p, aesGcmCodec(randomBytes(32))));
            await assert.rejects(wrong.getStatus("v1"), PayloadCodecError);
            assert.equal((await new Client(withPayloadCodec(p, aesGcmCodec(key))).waitForOrchestrationTyped<{ event: string }>("v1", 1_000)).event, `event ${SECRET}`);
          } finally {
            await p.close();
          }
        } finally {
          await s.done();
        }
      });
    });
  }
});
