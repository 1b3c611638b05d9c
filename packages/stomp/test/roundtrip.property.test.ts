import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { STOMP_VERSIONS, StompParser, serializeFrame, type Frame, type StompVersion } from "../src/index.js";
import { expectedAfterRoundTrip, frameArb, heartbeatsArb, serializeWithoutContentLength, splitAt, type Side } from "./arbitraries.js";
import { bytes, concat } from "./helpers.js";

function parserFor(side: Side, version: StompVersion): StompParser {
  return side === "client" ? StompParser.forServer({ version }) : StompParser.forClient({ version });
}

function comparable(frames: readonly Frame[]): unknown[] {
  return frames.map((f) => ({ command: f.command, headers: f.headers.map(([n, v]) => [n, v]), body: [...f.body] }));
}

for (const version of STOMP_VERSIONS) {
  test(`STOMP ${version}: random frames round-trip through serializeFrame and StompParser, whole, concatenated and split`, () => {
    const sides = fc.constantFrom<Side>("client", "server");
    const scenario = sides.chain((side) =>
      fc.record({
        side: fc.constant(side),
        frames: fc.array(frameArb(side, version), { minLength: 1, maxLength: 3 }),
        // per frame: write it without content-length when its body has no NUL (body runs to the NUL)
        bare: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        beats: fc.array(heartbeatsArb, { minLength: 4, maxLength: 4 }),
        cuts: fc.array(fc.nat(), { maxLength: 8 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ side, frames, bare, beats, cuts }) => {
        const parts: Uint8Array[] = [];
        const expectedFrames: Frame[] = [];
        let eols = 0;
        frames.forEach((f, i) => {
          parts.push(bytes(beats[i].join("")));
          eols += beats[i].length;
          if (bare[i] && !f.body.includes(0)) {
            parts.push(serializeWithoutContentLength(f, version));
            expectedFrames.push(f);
          } else {
            parts.push(serializeFrame(f, version));
            expectedFrames.push(expectedAfterRoundTrip(f));
          }
        });
        parts.push(bytes(beats[3].join("")));
        eols += beats[3].length;
        const wire = concat(...parts);
        const expected = comparable(expectedFrames);

        const whole = parserFor(side, version);
        assert.deepEqual(comparable(whole.push(wire)), expected);
        assert.equal(whole.heartbeats, eols);

        const split = parserFor(side, version);
        const got: Frame[] = [];
        for (const chunk of splitAt(wire, cuts)) got.push(...split.push(chunk));
        assert.deepEqual(comparable(got), expected);
        assert.equal(split.heartbeats, eols);
      }),
      { numRuns: 10_000 },
    );
  });

  test(`STOMP ${version}: random frames parse identically when fed one byte at a time`, () => {
    const scenario = fc.constantFrom<Side>("client", "server").chain((side) => fc.tuple(fc.constant(side), frameArb(side, version), fc.boolean()));
    fc.assert(
      fc.property(scenario, ([side, frame, bare]) => {
        const noLength = bare && !frame.body.includes(0);
        const wire = noLength ? serializeWithoutContentLength(frame, version) : serializeFrame(frame, version);
        const p = parserFor(side, version);
        const got: Frame[] = [];
        for (let i = 0; i < wire.length; i++) got.push(...p.push(wire.subarray(i, i + 1)));
        assert.deepEqual(comparable(got), comparable([noLength ? frame : expectedAfterRoundTrip(frame)]));
      }),
      { numRuns: 1_000 },
    );
  });
}
