import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHeaderName, escapeHeaderValue, unescapeHeaderValue } from "../src/index.js";
import { assertCodecError } from "./helpers.js";

test("1.0 has no escaping in either direction", () => {
  assert.equal(escapeHeaderValue("a:b\\c", "1.0"), "a:b\\c");
  assert.equal(unescapeHeaderValue("a\\nb\\t\\", "1.0"), "a\\nb\\t\\");
});

test("1.1 escapes LF, colon and backslash but not CR", () => {
  assert.equal(escapeHeaderValue("a\nb:c\\d\re", "1.1"), "a\\nb\\cc\\\\d\re");
  assert.equal(escapeHeaderName("x:y", "1.1"), "x\\cy");
  assert.equal(unescapeHeaderValue("a\\nb\\cc\\\\d", "1.1"), "a\nb:c\\d");
});

test("1.2 also escapes CR", () => {
  assert.equal(escapeHeaderValue("a\r\nb:\\", "1.2"), "a\\r\\nb\\c\\\\");
  assert.equal(unescapeHeaderValue("a\\r\\nb\\c\\\\", "1.2"), "a\r\nb:\\");
});

test("values without special characters come back as the same string", () => {
  const v = "plain value é 😀";
  assert.equal(escapeHeaderValue(v, "1.2"), v);
  assert.equal(unescapeHeaderValue(v, "1.2"), v);
});

test("\\r is an undefined escape in 1.1", () => {
  assertCodecError(() => unescapeHeaderValue("a\\rb", "1.1"), "invalid-escape", /"\\r" is not defined in STOMP 1\.1/);
});

test("undefined escapes are fatal in 1.1 and 1.2", () => {
  for (const v of ["1.1", "1.2"] as const) {
    assertCodecError(() => unescapeHeaderValue("tab\\there", v), "invalid-escape", /undefined escape "\\\\t"/, /tab/);
    assertCodecError(() => unescapeHeaderValue("end\\", v), "invalid-escape", /dangling backslash/);
  }
});

test("the error names the header it came from", () => {
  assertCodecError(() => unescapeHeaderValue("\\x", "1.2", "header line 4 name"), "invalid-escape", /^header line 4 name: /);
});
