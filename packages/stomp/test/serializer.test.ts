import { test } from "node:test";
import assert from "node:assert/strict";
import { HEARTBEAT_EOL, StompParser, serializeFrame, type Frame } from "../src/index.js";
import { assertCodecError, bytes, text } from "./helpers.js";

const empty = new Uint8Array(0);

test("a SEND frame in 1.2: escaped headers, content-length, body, NUL", () => {
  const out = serializeFrame({ command: "SEND", headers: [["destination", "/a:b"], ["k", "x\r\ny\\"]], body: bytes("hi") }, "1.2");
  assert.equal(text(out), "SEND\ndestination:/a\\cb\nk:x\\r\\ny\\\\\ncontent-length:2\n\nhi\0");
});

test("content-length is added to SEND, MESSAGE and ERROR even with an empty body", () => {
  for (const command of ["SEND", "MESSAGE", "ERROR"] as const) {
    assert.equal(text(serializeFrame({ command, headers: [], body: empty }, "1.2")), `${command}\ncontent-length:0\n\n\0`);
  }
});

test("content-length is not added to other frames with an empty body, and is added when they have one", () => {
  assert.equal(text(serializeFrame({ command: "SUBSCRIBE", headers: [["id", "0"]], body: empty }, "1.2")), "SUBSCRIBE\nid:0\n\n\0");
  assert.equal(text(serializeFrame({ command: "RECEIPT", headers: [], body: bytes("x") }, "1.2")), "RECEIPT\ncontent-length:1\n\nx\0");
});

test("an existing content-length is kept and not duplicated; a wrong one is refused", () => {
  const out = serializeFrame({ command: "SEND", headers: [["content-length", "3"]], body: bytes("abc") }, "1.2");
  assert.equal(text(out), "SEND\ncontent-length:3\n\nabc\0");
  assertCodecError(
    () => serializeFrame({ command: "SEND", headers: [["content-length", "2"]], body: bytes("abc") }, "1.2"),
    "invalid-content-length",
    /"2" does not match the body length 3/,
  );
});

test("a body with NUL bytes survives the round trip", () => {
  const body = new Uint8Array([0, 0, 1, 0]);
  const [f] = StompParser.forClient().push(serializeFrame({ command: "MESSAGE", headers: [], body }, "1.2"));
  assert.deepEqual(f.body, body);
});

test("1.1 escapes LF, colon and backslash; a CR inside a value is written raw", () => {
  const frame: Frame = { command: "SEND", headers: [["a:b", "x\ny\rz\\"]], body: empty };
  assert.equal(text(serializeFrame(frame, "1.1")), "SEND\na\\cb:x\\ny\rz\\\\\ncontent-length:0\n\n\0");
  const [back] = StompParser.forServer({ version: "1.1" }).push(serializeFrame(frame, "1.1"));
  assert.deepEqual(back.headers[0], ["a:b", "x\ny\rz\\"]);
});

test("1.1 cannot carry a value that ends with CR", () => {
  assertCodecError(() => serializeFrame({ command: "SEND", headers: [["k", "v\r"]], body: empty }, "1.1"), "invalid-header", /ends with a carriage return/, /1\.1/);
});

test("1.0 writes headers raw: colons in values are fine, LF and colons in names are not", () => {
  assert.equal(text(serializeFrame({ command: "SUBSCRIBE", headers: [["destination", "/a:b\\c"]], body: empty }, "1.0")), "SUBSCRIBE\ndestination:/a:b\\c\n\n\0");
  assertCodecError(() => serializeFrame({ command: "SEND", headers: [["k", "a\nb"]], body: empty }, "1.0"), "invalid-header", /line feed/, /1\.0/);
  assertCodecError(() => serializeFrame({ command: "SEND", headers: [["k:x", "v"]], body: empty }, "1.0"), "invalid-header", /"k:x"/);
});

test("CONNECT, STOMP and CONNECTED headers are never escaped in any version", () => {
  for (const version of ["1.0", "1.1", "1.2"] as const) {
    for (const command of ["CONNECT", "STOMP", "CONNECTED"] as const) {
      assert.equal(text(serializeFrame({ command, headers: [["passcode", "a:b\\c"]], body: empty }, version)), `${command}\npasscode:a:b\\c\n\n\0`);
    }
  }
  assertCodecError(() => serializeFrame({ command: "CONNECT", headers: [["login", "a\nb"]], body: empty }, "1.2"), "invalid-header", /CONNECT headers are never escaped/);
});

test("empty header names and NUL characters in headers are refused", () => {
  assertCodecError(() => serializeFrame({ command: "SEND", headers: [["", "v"]], body: empty }, "1.2"), "invalid-header", /header 1 has an empty name/);
  assertCodecError(() => serializeFrame({ command: "SEND", headers: [["k", "a\0b"]], body: empty }, "1.2"), "invalid-header", /NUL/);
});

test("an unknown command is refused", () => {
  const bogus = { command: "PUBLISH", headers: [], body: empty } as unknown as Frame;
  assertCodecError(() => serializeFrame(bogus, "1.2"), "invalid-command", /"PUBLISH"/);
});

test("UTF-8 headers are encoded once, byte-exact", () => {
  const out = serializeFrame({ command: "MESSAGE", headers: [["ключ", "😀"]], body: empty }, "1.2");
  assert.deepEqual(out, bytes("MESSAGE\nключ:😀\ncontent-length:0\n\n\0"));
});

test("HEARTBEAT_EOL is a single LF", () => {
  assert.deepEqual([...HEARTBEAT_EOL], [0x0a]);
});
