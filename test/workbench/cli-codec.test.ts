// The CLI reads (and writes) an encrypted store with the codec the runtime used (`--codec <module>`);
// without it the payloads stay ciphertext, and with a wrong key it fails clearly.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Runtime, SqliteProvider, withPayloadCodec, type OrchestrationContext } from "../../src/index.js";
import { aesGcmCodec } from "../../examples/encrypted-store.js";
import { duroxide, parseJson, REPO_ROOT } from "./cliRunner.js";

const SECRET = "card 4111-1111";

describe("CLI --codec", () => {
  const dir = mkdtempSync(join(tmpdir(), "dx-cli-codec-"));
  const file = join(dir, "store.db");
  const key = randomBytes(32);
  const codecModule = join(dir, "codec.mjs");

  before(async () => {
    // The codec module an operator would write: the key from the environment.
    const example = pathToFileURL(join(REPO_ROOT, "dist/examples/encrypted-store.js")).href;
    writeFileSync(codecModule, `import { aesGcmCodec } from ${JSON.stringify(example)};\nexport default () => aesGcmCodec(Buffer.from(process.env.TEST_KEY, "hex"));\n`);
    const provider = withPayloadCodec(await SqliteProvider.open(`sqlite:${file}`), aesGcmCodec(key));
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
    rt.registerOrchestration("Pay", async (ctx: OrchestrationContext, input: { card: string }) => {
      ctx.setCustomStatus(`charging ${input.card}`);
      const ev = await ctx.waitForEvent<string>("go");
      return { charged: input.card, ev };
    });
    await rt.start();
    await rt.client.startOrchestration("p1", "Pay", { card: SECRET });
    await rt.client.startOrchestration("p2", "Pay", { card: SECRET });
    await rt.client.raiseEvent("p1", "go", "now");
    await rt.client.waitForOrchestration("p1", 10_000);
    await rt.shutdown(200);
    await provider.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const env = (): NodeJS.ProcessEnv => ({ TEST_KEY: key.toString("hex") });

  it("show decodes with --codec; without it the payload stays ciphertext", async () => {
    const withCodec = parseJson<Record<string, unknown>>(await duroxide(["--store", file, "--codec", codecModule, "show", "p1", "--json"], { env: env() }));
    assert.deepEqual(withCodec["output"], { charged: SECRET, ev: "now" });
    assert.deepEqual(withCodec["input"], { card: SECRET });
    assert.equal(withCodec["customStatus"], `charging ${SECRET}`);
    const bare = await duroxide(["--store", file, "show", "p1", "--json"]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.ok(!bare.stdout.includes(SECRET), "no plain payload without the codec");
  });

  it("raise through the CLI is encoded with the codec, and the runtime reads it", async () => {
    const r = await duroxide(["--store", file, "--codec", codecModule, "raise", "p2", "go", JSON.stringify("from the cli")], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const provider = withPayloadCodec(await SqliteProvider.open(`sqlite:${file}`), aesGcmCodec(key));
    const rt = new Runtime(provider, { dispatcherPollIntervalMs: 20, logLevel: "error" });
    rt.registerOrchestration("Pay", async (ctx: OrchestrationContext, input: { card: string }) => {
      ctx.setCustomStatus(`charging ${input.card}`);
      const ev = await ctx.waitForEvent<string>("go");
      return { charged: input.card, ev };
    });
    await rt.start();
    try {
      assert.deepEqual(await rt.client.waitForOrchestrationTyped("p2", 10_000), { charged: SECRET, ev: "from the cli" });
    } finally {
      await rt.shutdown(200);
      await provider.close();
    }
  });

  it("a wrong key or a bad module fails with one clear line", async () => {
    const wrong = await duroxide(["--store", file, "--codec", codecModule, "show", "p1"], { env: { TEST_KEY: randomBytes(32).toString("hex") } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /payload codec could not decode/);
    const missing = await duroxide(["--store", file, "--codec", join(dir, "nope.mjs"), "list"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot load codec module/);
    const notCodec = join(dir, "not-codec.mjs");
    writeFileSync(notCodec, "export default 42;\n");
    const bad = await duroxide(["--store", file, "--codec", notCodec, "list"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /must export a PayloadCodec/);
  });
});
