import { test } from "node:test";
import assert from "node:assert/strict";
import { RingBuffer } from "../src/ring-buffer.js";

const items = <T>(r: RingBuffer<T>) => Array.from({ length: r.length }, (_, i) => r.at(i));

test("RingBuffer: keeps the newest `capacity` items in order, across wrap-around and resizes", () => {
  const r = new RingBuffer<number>(3);
  assert.equal(r.push(1), false);
  r.push(2);
  r.push(3);
  assert.equal(r.push(4), true, "full: the oldest is dropped");
  r.push(5);
  assert.deepEqual(items(r), [3, 4, 5]);
  assert.equal(r.at(-1), undefined);
  assert.equal(r.at(3), undefined);
  r.resize(5);
  r.push(6);
  assert.deepEqual(items(r), [3, 4, 5, 6]);
  r.push(7);
  r.push(8);
  assert.deepEqual(items(r), [4, 5, 6, 7, 8]);
  r.resize(2);
  assert.deepEqual(items(r), [7, 8], "shrinking keeps the newest");
  r.push(9);
  assert.deepEqual(items(r), [8, 9]);
  assert.equal(r.capacity, 2);
});
