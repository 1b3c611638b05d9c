import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { StompParser, STOMP_VERSIONS, canCarryHeader, header, headerUnsafeForSomeVersion, type StompVersion } from "@herald/stomp";
import type { BusMessage } from "@herald/bus";
import { MessageParts, messagePrefix } from "../src/fanout/message-frame.js";

// The shared MESSAGE frame, for each STOMP version, whatever headers a message carries: the
// receiver's parser (of that version) reads exactly one frame back, every header the version
// can carry with its exact value, none that it cannot, nothing forged, and the body intact.

const SPECIALS = ["\n", "\r", ":", "\\", "\\n", "\\c", "\\r", "\r\n", "\n\n", "content-length:9", "\0", "é", "😀", " ", "\t", "PWNED!"];
const text = fc
  .array(fc.oneof(fc.constantFrom(...SPECIALS), fc.string({ maxLength: 6 }), fc.string({ unit: "binary", maxLength: 4 })), { maxLength: 4 })
  .map((a) => a.join(""));
// Names the server writes itself are not custom headers (the frame builder skips the reserved
// ones; a duplicate of a server header would lose to it, as STOMP's first-wins says).
const SERVER = new Set(["destination", "subscription", "message-id", "content-length", "content-type", "ack", "herald-offset", "herald-epoch"]);
const headersArb = fc.dictionary(text.filter((n) => n.length > 0 && !SERVER.has(n)), text, { maxKeys: 5 });
const body = fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.constant(new TextEncoder().encode("hello\0world\n\nPWNED!")));

function message(headers: Record<string, string>, contentType: string | undefined, b: Uint8Array): BusMessage {
  return {
    destination: "/topic/x",
    id: "m-1",
    headers,
    ...(contentType !== undefined ? { contentType } : {}),
    body: b,
    publishedAt: 0,
    position: { offset: 7, epoch: "Ep0ch" },
  };
}

for (const version of STOMP_VERSIONS) {
  test(`STOMP ${version}: a MESSAGE reads back exactly; what ${version} cannot carry is left out, never forged`, () => {
    fc.assert(
      fc.property(headersArb, fc.option(text, { nil: undefined }), body, fc.constantFrom("sub-0", "s:1"), (headers, contentType, b, subId) => {
        fc.pre(canCarryHeader("subscription", subId, version));
        const parts = new MessageParts(message(headers, contentType, b), "/topic/x");
        const bytes = parts.frame(messagePrefix(subId, version), version, "ack:a-1\n");
        const frames = StompParser.forClient({ version, maxFrameBytes: 1 << 20 }).push(bytes);
        assert.equal(frames.length, 1, "exactly one frame");
        const f = frames[0]!;
        assert.equal(f.command, "MESSAGE");
        assert.deepEqual([...f.body], [...b]);
        assert.equal(header(f, "subscription"), subId);
        assert.equal(header(f, "destination"), "/topic/x");
        assert.equal(header(f, "message-id"), "m-1");
        assert.equal(header(f, "ack"), "a-1");
        assert.equal(header(f, "herald-offset"), "7");
        assert.equal(header(f, "content-length"), String(b.length));
        const carried = (n: string, v: string) => canCarryHeader(n, v, version);
        assert.equal(header(f, "content-type"), contentType && carried("content-type", contentType) ? contentType : undefined);
        for (const [n, v] of Object.entries(headers)) assert.equal(header(f, n), carried(n, v) ? v : undefined, `header ${JSON.stringify(n)}`);
        // Nothing but the server's headers and the carried ones.
        const expected = new Set(["subscription", "ack", "destination", "message-id", "content-type", "herald-offset", "herald-epoch", "content-length", ...Object.keys(headers)]);
        for (const [n] of f.headers) assert.ok(expected.has(n), `unexpected header ${JSON.stringify(n)}`);
      }),
      { numRuns: 3000 },
    );
  });
}

test("what STOMP 1.0 can carry every version can; headerUnsafeForSomeVersion says why not", () => {
  fc.assert(
    fc.property(text, text, (n, v) => {
      const all = STOMP_VERSIONS.every((ver: StompVersion) => canCarryHeader(n, v, ver));
      assert.equal(canCarryHeader(n, v, "1.0"), all);
      assert.equal(headerUnsafeForSomeVersion(n, v) === undefined, all);
    }),
  );
  assert.match(headerUnsafeForSomeVersion("x-a", "1\nforged:yes") ?? "", /value contains a line feed, which STOMP 1\.0 cannot carry/);
  assert.match(headerUnsafeForSomeVersion("x-a", "1\r") ?? "", /carriage return, which STOMP 1\.0 and 1\.1 cannot carry/);
  assert.match(headerUnsafeForSomeVersion("a:b", "1") ?? "", /name contains a colon/);
});
