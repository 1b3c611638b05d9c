import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, FrameSplitter, readStamp, stampBody, stampText, WireError, type WireFrame } from "../src/stomp-wire.js";
import { Histogram } from "../src/histogram.js";

function split(chunks: Buffer[]): WireFrame[] {
  const s = new FrameSplitter();
  const out: WireFrame[] = [];
  for (const c of chunks) s.push(c, (f) => out.push({ ...f, body: Buffer.from(f.body) }));
  return out;
}

test("frames survive being split anywhere and concatenated", () => {
  const a = encodeFrame("MESSAGE", { destination: "/topic/a", subscription: "sub-0", "content-length": 3 }, "x\0y");
  const b = encodeFrame("RECEIPT", { "receipt-id": "r1" });
  const all = Buffer.concat([Buffer.from("\n"), a, Buffer.from("\n"), b]);
  for (let cut = 0; cut <= all.length; cut++) {
    const frames = split([all.subarray(0, cut), all.subarray(cut)]);
    assert.deepEqual(frames.map((f) => f.command), ["MESSAGE", "RECEIPT"], `cut at ${cut}`);
    assert.equal(frames[0]!.body.toString(), "x\0y");
    assert.equal(frames[0]!.headers.get("destination"), "/topic/a");
    assert.equal(frames[1]!.headers.get("receipt-id"), "r1");
  }
});

test("CRLF line ends are understood", () => {
  const frames = split([Buffer.from("MESSAGE\r\ndestination:/topic/a\r\nsubscription:s\r\n\r\nhi\0")]);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.headers.get("destination"), "/topic/a");
  assert.equal(frames[0]!.body.toString(), "hi");
});

test("a malformed header is a named error", () => {
  assert.throws(() => split([Buffer.from("SEND\nnocolon\n\nbody\0")]), (e: unknown) => e instanceof WireError && /nocolon/.test(e.message));
});

test("stamps round-trip, padded to size, also when JSON-quoted", () => {
  const b = stampBody(42, 100, 123456789012345);
  assert.equal(b.length, 100);
  assert.deepEqual(readStamp(b), { seq: 42, sentNs: 123456789012345 });
  const quoted = Buffer.from(JSON.stringify(stampText(7, 60, 99)));
  assert.deepEqual(readStamp(quoted), { seq: 7, sentNs: 99 });
  assert.equal(readStamp(Buffer.from("hello world")), undefined);
});

test("histogram quantiles stay within 2% of the exact values", () => {
  const h = new Histogram();
  const values: number[] = [];
  let x = 1;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 48271) % 2147483647; // deterministic spread over 0..~2e6
    const v = x % 2_000_000;
    values.push(v);
    h.record(v);
  }
  values.sort((p, q) => p - q);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1]!;
    const got = h.quantile(q);
    assert.ok(Math.abs(got - exact) <= exact * 0.02 + 1, `q${q}: exact ${exact}, histogram ${got}`);
  }
  assert.equal(h.summary().max, values[values.length - 1]);
  const merged = Histogram.from(h.toData());
  assert.equal(merged.quantile(0.5), h.quantile(0.5));
});
