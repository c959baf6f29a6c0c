// The payload and identifier checks have fast paths (a primitive payload is not walked; an
// identifier already found valid is not scanned again): they must reject exactly what the full
// checks reject.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeJson } from "../../src/model/json.js";
import { checkIdentifier } from "../../src/model/identifiers.js";
import { InvalidIdentifierError, UnsupportedPayloadError } from "../../src/model/errors.js";

describe("payload and identifier checks", () => {
  it("top-level primitives: strings, booleans, null and finite numbers pass; NaN, ±Infinity, BigInt, functions and symbols are rejected", () => {
    assert.equal(encodeJson("a\"b"), '"a\\"b"');
    assert.equal(encodeJson(true), "true");
    assert.equal(encodeJson(null), "null");
    assert.equal(encodeJson(-0.5), "-0.5");
    assert.equal(encodeJson(undefined), "null");
    for (const v of [NaN, Infinity, -Infinity, 10n, () => 1, Symbol("s")]) {
      assert.throws(() => encodeJson(v), UnsupportedPayloadError, `rejects ${String(v)}`);
    }
    assert.throws(() => encodeJson({ n: NaN }), UnsupportedPayloadError);
  });

  it("an identifier found valid stays valid; invalid ones are rejected however many valid ones came before", () => {
    for (let i = 0; i < 5_000; i++) assert.equal(checkIdentifier("name", `Act${i % 7000}`), `Act${i % 7000}`);
    assert.equal(checkIdentifier("name", "Act1"), "Act1");
    for (const bad of ["", "a\u0000b", "x\uD800", "é".repeat(600), 5, null]) {
      assert.throws(() => checkIdentifier("name", bad), InvalidIdentifierError, `rejects ${JSON.stringify(bad)}`);
      assert.throws(() => checkIdentifier("name", bad), InvalidIdentifierError, `still rejects ${JSON.stringify(bad)}`);
    }
  });
});
