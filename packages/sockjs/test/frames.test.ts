// Pure frame encoding and decoding.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SockJsPayloadError, closeFrame, decodeMessages, quoteMessage } from "../src/index.js";

test("quoteMessage escapes control, separator and special ranges with lower-case \\u", () => {
  assert.equal(quoteMessage("plain"), '"plain"');
  assert.equal(quoteMessage("a\u2028b\u200cc\ufff0\u0001"), '"a\\u2028b\\u200cc\\ufff0\\u0001"');
  assert.equal(quoteMessage("😀"), '"\\ud83d\\ude00"');
  assert.equal(quoteMessage("\ud800x"), '"\\ud800x"');
  assert.equal(quoteMessage('q"\\'), '"q\\"\\\\"');
});

test("quoteMessage output is ASCII-safe for the ranges and decodes back to the input", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => {
      const q = quoteMessage(s);
      assert.equal(JSON.parse(q), s);
      assert.doesNotMatch(q, /[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff\ud800-\udfff]/);
    }),
  );
});

test("closeFrame", () => {
  assert.equal(closeFrame(3000, "Go away!"), 'c[3000,"Go away!"]');
});

test("decodeMessages accepts arrays of strings (and a lone string on websockets)", () => {
  assert.deepEqual(decodeMessages('["a","b"]', false), ["a", "b"]);
  assert.deepEqual(decodeMessages('"a"', true), ["a"]);
  assert.throws(() => decodeMessages('"a"', false), /Payload expected\./);
  assert.throws(() => decodeMessages("", false), (e: unknown) => e instanceof SockJsPayloadError && e.message === "Payload expected.");
  assert.throws(() => decodeMessages('["a', false), /Broken JSON encoding\./);
  assert.throws(() => decodeMessages('["a",1]', false), /message 1 is number/);
});
