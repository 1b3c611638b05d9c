import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { STOMP_VERSIONS, StompCodecError, StompParser, serializeFrame, type StompVersion } from "../src/index.js";
import { frameArb, splitAt, type Side } from "./arbitraries.js";
import { bytes, concat } from "./helpers.js";

/** Feeds chunks; the only thing allowed to escape is a StompCodecError, and then the parser must stay failed. */
function feed(parser: StompParser, chunks: readonly Uint8Array[]): void {
  try {
    for (const c of chunks) parser.push(c);
  } catch (err) {
    assert.ok(err instanceof StompCodecError, `unexpected ${String(err)}`);
    assert.throws(() => parser.push(new Uint8Array([0x0a])), (again) => again === err);
  }
}

const versionArb = fc.constantFrom<StompVersion>(...STOMP_VERSIONS);
const limitsArb = fc.oneof(
  fc.constant({}),
  fc.record({ maxFrameBytes: fc.integer({ min: 1, max: 300 }), maxHeaders: fc.integer({ min: 1, max: 5 }), maxHeaderLineBytes: fc.integer({ min: 1, max: 40 }) }),
);
const parserArb = fc.tuple(fc.boolean(), versionArb, limitsArb).map(([server, version, limits]) =>
  () => (server ? StompParser.forServer({ version, ...limits }) : StompParser.forClient({ version, ...limits })),
);

test("random bytes never make the parser throw anything but StompCodecError", () => {
  fc.assert(
    fc.property(parserArb, fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (make, input, cuts) => {
      feed(make(), splitAt(input, cuts));
    }),
    { numRuns: 5_000 },
  );
});

test("random bytes after a plausible frame start never throw anything but StompCodecError", () => {
  const prefixes = ["SEND\n", "CONNECT\r\n", "MESSAGE\n", "SEND\ncontent-length:3\n\n", "SEND\nk:", "RECEIPT\nreceipt-id:1\n\n", "\n\r\n", "ERROR\nmessage:x\\"];
  fc.assert(
    fc.property(parserArb, fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (make, prefix, tail, cuts) => {
      feed(make(), splitAt(concat(bytes(prefix), tail), cuts));
    }),
    { numRuns: 5_000 },
  );
});

test("valid frames with random bytes overwritten never throw anything but StompCodecError", () => {
  const scenario = fc.constantFrom<Side>("client", "server").chain((side) =>
    fc.record({
      side: fc.constant(side),
      version: versionArb,
      frame: frameArb(side, "1.2"),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
    }),
  );
  fc.assert(
    fc.property(scenario, ({ side, version, frame, edits, cuts }) => {
      const wire = serializeFrame(frame, "1.2").slice();
      for (const [at, b] of edits) wire[at % wire.length] = b;
      const parser = side === "client" ? StompParser.forServer({ version }) : StompParser.forClient({ version });
      feed(parser, splitAt(wire, cuts));
    }),
    { numRuns: 5_000 },
  );
});
