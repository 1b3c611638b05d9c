import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type BusMessage } from "../src/index.js";

const message: fc.Arbitrary<BusMessage> = fc.record(
  {
    destination: fc.string({ minLength: 1 }),
    id: fc.string(),
    headers: fc.dictionary(fc.string(), fc.string()),
    contentType: fc.string(),
    body: fc.uint8Array({ maxLength: 512 }),
    publishedAt: fc.oneof(fc.integer({ min: 0 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0))),
    position: fc.record({ offset: fc.nat(), epoch: fc.string() }),
  },
  { requiredKeys: ["destination", "id", "headers", "body", "publishedAt"] },
);

test("encode/decode round-trips any message", () => {
  fc.assert(
    fc.property(message, (m) => {
      const d = decodeEnvelope(encodeEnvelope(m));
      assert.equal(d.destination, m.destination);
      assert.equal(d.id, m.id);
      assert.deepEqual({ ...d.headers }, { ...m.headers });
      assert.equal(d.contentType, m.contentType);
      assert.equal(d.publishedAt, m.publishedAt);
      assert.deepEqual(d.position && { ...d.position }, m.position && { ...m.position });
      assert.deepEqual(Buffer.from(d.body), Buffer.from(m.body));
      assert.equal("contentType" in d, m.contentType !== undefined);
      assert.equal("position" in d, m.position !== undefined);
    }),
    { numRuns: 500 },
  );
});

test("the body travels as raw bytes after the header, not re-encoded", () => {
  const body = Buffer.from([0, 255, 0xc3, 0x28, 10, 0]);
  const env = encodeEnvelope({ destination: "/topic/x", id: "1", headers: {}, body, publishedAt: 1 });
  assert.deepEqual(env.subarray(env.length - body.length), body);
  assert.ok(env.length < body.length + 60, `envelope overhead ${env.length - body.length} bytes`);
});

test("decode also accepts a plain Uint8Array view", () => {
  const env = encodeEnvelope({ destination: "/topic/x", id: "a", headers: { k: "v" }, body: new Uint8Array([1, 2]), publishedAt: 5 });
  const copy = new Uint8Array(env.length + 3).subarray(3);
  copy.set(env);
  assert.deepEqual([...decodeEnvelope(copy).body], [1, 2]);
});

const header = (obj: unknown) => {
  const json = Buffer.from(JSON.stringify(obj));
  const b = Buffer.alloc(5 + json.length);
  b[0] = 1;
  b.writeUInt32BE(json.length, 1);
  json.copy(b, 5);
  return b;
};

const garbage: Array<[string, Buffer, RegExp]> = [
  ["empty", Buffer.alloc(0), /too short/],
  ["wrong version", Buffer.from([2, 0, 0, 0, 0]), /unknown version 2/],
  ["length past the end", Buffer.from([1, 0, 0, 0, 9, 123]), /header length 9 exceeds/],
  ["not JSON", Buffer.from([1, 0, 0, 0, 2, 123, 123]), /not JSON/],
  ["array header", header([1]), /not an object/],
  ["no destination", header({ i: "1", h: {}, t: 1 }), /destination \(d\)/],
  ["numeric id", header({ d: "/t", i: 1, h: {}, t: 1 }), /id \(i\)/],
  ["bad time", header({ d: "/t", i: "1", h: {}, t: "x" }), /publishedAt \(t\)/],
  ["bad headers", header({ d: "/t", i: "1", h: [], t: 1 }), /headers \(h\)/],
  ["non-string header", header({ d: "/t", i: "1", h: { a: 1 }, t: 1 }), /header "a"/],
  ["bad content type", header({ d: "/t", i: "1", h: {}, t: 1, c: 3 }), /contentType \(c\)/],
  ["bad position", header({ d: "/t", i: "1", h: {}, t: 1, p: [-1, "e"] }), /position \(p\)/],
];

for (const [what, buf, msg] of garbage) {
  test(`rejects garbage: ${what}`, () => {
    assert.throws(() => decodeEnvelope(buf), (err: unknown) => err instanceof EnvelopeError && msg.test(err.message));
  });
}

test("random bytes never decode to anything but an EnvelopeError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeEnvelope(bytes);
      } catch (err) {
        assert.ok(err instanceof EnvelopeError, String(err));
      }
    }),
  );
});
