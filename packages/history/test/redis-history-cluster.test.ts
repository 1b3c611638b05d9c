import { test } from "node:test";
import assert from "node:assert/strict";
import { CrossSlotError, RedisBus, whenBusUp, type BusMessage } from "@herald/bus";
import { RedisCluster, type RedisServer } from "@herald/testkit";
import { Redis } from "ioredis";
import { RedisHistory, keySlot } from "../src/index.js";
import { collect, historyContract, msg } from "./contract.js";
import { whenSubscribed } from "./subscribed.js";

async function startCluster(): Promise<RedisServer[]> {
  const cluster = await RedisCluster.start();
  return [...cluster.nodes];
}

let nodes: RedisServer[] = [];
let history: RedisHistory;
let bus: RedisBus;
let admin: Redis;
let admins: Redis[] = [];

historyContract(
  "RedisHistory on Redis Cluster",
  async () => {
    nodes = await startCluster();
    const url = `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
    history = new RedisHistory({ redisUrl: url, name: "cluster" });
    bus = new RedisBus({ redisUrl: url, name: "cluster-sub" });
    admins = nodes.map((n) => new Redis({ port: n.port, host: "127.0.0.1" }));
    admin = admins[0]!;
    await whenBusUp(bus, 10_000);
    return { history, bus, subscribed: (d) => whenSubscribed(admins, d, true) };
  },
  async () => {
    for (const a of admins) a.disconnect();
    await history?.close();
    await bus?.close();
    await Promise.all(nodes.map((n) => n.dispose()));
  },
);

// Destinations whose names hold braces exercise the other two key forms (see redis-keys.ts).
const destinations = ["/topic/a", "/topic/b", "/user/ann/queue/n", "/user/bob/queue/n", "/topic/x{y}z", "/topic/p}q", "/topic/{}r", "/topic/é.{"];

test("Redis Cluster: meta, stream and bus channel of a destination share a slot (our CRC16 agrees with CLUSTER KEYSLOT)", async () => {
  for (const d of destinations) {
    const k = history.keysOf(d);
    const slot = Number(await admin.cluster("KEYSLOT", k.channel));
    assert.equal(keySlot(k.channel), slot, `slot of ${k.channel}`);
    assert.equal(Number(await admin.cluster("KEYSLOT", k.meta)), slot, `slot of ${k.meta}`);
    assert.equal(Number(await admin.cluster("KEYSLOT", k.stream)), slot, `slot of ${k.stream}`);
  }
  assert.notEqual(history.keysOf("/topic/x{y}z").meta, history.keysOf("/topic/w{y}z").meta, "same tag, different destinations, different keys");
});

test("Redis Cluster: publish (SPUBLISH from the script) and readSince across shards, in offset order", async () => {
  const shards = new Set<string>();
  const slots = await admin.cluster("SLOTS");
  for (const d of destinations) {
    const slot = keySlot(history.keysOf(d).channel);
    shards.add(String(slots.find(([lo, hi]) => slot >= lo && slot <= hi)![2]![1]));
  }
  assert.ok(shards.size >= 2, "the destinations should span more than one shard");

  for (const d of destinations) {
    const start = await history.latest(d);
    const n = 20;
    let published: BusMessage[] = [];
    const got = await collect({ history, bus, subscribed: (dest) => whenSubscribed(admins, dest, true) }, d, n, async () => {
      published = await Promise.all(Array.from({ length: n }, (_, i) => history.publish(msg(d, `${d}#${i}`), { maxMessages: 100, ttlSeconds: 60 })));
    });
    const expected = Array.from({ length: n }, (_, i) => start.offset + i + 1);
    assert.deepEqual(got.map((m) => m.position!.offset), expected, `delivery order on ${d}`);
    const epoch = start.epoch === "" ? got[0]!.position!.epoch : start.epoch;
    assert.ok(got.every((m) => m.position!.epoch === epoch));
    assert.deepEqual(published.map((m) => m.position!.offset).sort((a, b) => a - b), expected);
    const r = await history.readSince(d, start, 100);
    assert.equal(r.complete, true);
    assert.deepEqual(r.messages.map((m) => m.id), got.map((m) => m.id), `history of ${d}`);
  }
});

test("Redis Cluster: publishAll across hash slots is refused (CrossSlotError) before anything is stored or published", async () => {
  const a = "/topic/batch-a";
  const b = "/user/ann/queue/batch-b";
  assert.notEqual(keySlot(history.keysOf(a).channel), keySlot(history.keysOf(b).channel), "the two destinations must be in different slots");
  const before = await Promise.all([history.latest(a), history.latest(b)]);
  await assert.rejects(
    history.publishAll([
      { message: msg(a, "1"), options: { maxMessages: 10, ttlSeconds: 60 } },
      { message: msg(b, "2"), options: undefined },
    ]),
    (e: Error) => e instanceof CrossSlotError && /slot/.test(e.message) && e.message.includes(a) && e.message.includes(b),
  );
  assert.deepEqual(await Promise.all([history.latest(a), history.latest(b)]), before, "nothing was appended");
});
