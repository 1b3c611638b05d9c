import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { RedisServer } from "@herald/testkit";
import { Redis } from "ioredis";
import { CLUSTER_SLOTS, keySlot } from "../src/index.js";

test("keySlot: the CRC16 check value and hash-tag rules", () => {
  // CRC16-XMODEM("123456789") is 0x31C3, the reference value in the Redis Cluster specification.
  assert.equal(keySlot("123456789"), 0x31c3 % CLUSTER_SLOTS);
  assert.equal(keySlot("{user1000}.following"), keySlot("user1000"));
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"), "an empty tag hashes the whole key");
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  assert.equal(keySlot("foo{bar}{zap}"), keySlot("bar"));
  assert.equal(keySlot(Buffer.from("123456789")), keySlot("123456789"));
});

test("keySlot agrees with CLUSTER KEYSLOT of a real cluster-enabled server on random keys", async (t) => {
  const server = await RedisServer.start({ args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"] });
  t.after(() => server.dispose());
  const client = new Redis({ port: server.port, host: "127.0.0.1" });
  t.after(() => client.disconnect());
  const alphabet = [..."ab{}/:._-é😀"];
  const keys: string[] = ["", "{", "}", "{}", "herald:bus:/topic/x", "herald:bus:/user/ann/queue/n"];
  for (let i = 0; i < 1000; i++) {
    const bytes = randomBytes(1 + (i % 24));
    keys.push([...bytes].map((b) => alphabet[b % alphabet.length]!).join(""));
  }
  const pipeline = client.pipeline();
  for (const k of keys) pipeline.cluster("KEYSLOT", k);
  const replies = (await pipeline.exec())!;
  keys.forEach((k, i) => {
    const [err, slot] = replies[i]!;
    assert.equal(err, null);
    assert.equal(keySlot(k), Number(slot), `slot of ${JSON.stringify(k)}`);
  });
});
