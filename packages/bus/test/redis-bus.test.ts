import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, type Redis } from "@herald/redis";
import { BusUnavailableError, RedisBus, createBus, LocalBus, whenBusUp, encodeEnvelope } from "../src/index.js";
import { Recorder, msg, sleep } from "./helpers.js";

async function setup(t: import("node:test").TestContext) {
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url, name: "a" });
  const b = new RedisBus({ redisUrl: server.url, name: "b" });
  const admin = createRedisClient(parseRedisUrl(server.url), { name: "admin" }) as Redis;
  t.after(async () => {
    await a.close();
    await b.close();
    admin.disconnect();
    await server.dispose();
  });
  await Promise.all([whenBusUp(a, 5000), whenBusUp(b, 5000)]);
  return { server, a, b, admin };
}

async function numsub(admin: Redis, channel: string): Promise<number> {
  const reply = (await admin.pubsub("NUMSUB", channel)) as [string, number];
  return Number(reply[1]);
}

test("A subscribes, B publishes: bytes and headers arrive intact; refcounted SUBSCRIBE", async (t) => {
  const { a, b, admin } = await setup(t);
  const ra = new Recorder(a);
  const rb = new Recorder(b);

  a.subscribe("/topic/x");
  a.subscribe("/topic/x");
  assert.equal(a.subscriptionCount(), 1);
  // SUBSCRIBE is asynchronous: wait until Redis has it.
  for (let i = 0; i < 100 && (await numsub(admin, "herald:bus:/topic/x")) !== 1; i++) await sleep(20);
  assert.equal(await numsub(admin, "herald:bus:/topic/x"), 1);

  const body = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x0a, 0x80]);
  await b.publish(msg("/topic/x", body, { id: "id-1", headers: { "x-a": "1", "x-ü": "é:\n" }, contentType: "application/octet-stream", position: { offset: 7, epoch: "e1" } }));
  await ra.until(() => ra.messages.length === 1, "A to receive");
  const got = ra.messages[0]!;
  assert.equal(got.destination, "/topic/x");
  assert.equal(got.id, "id-1");
  assert.deepEqual(Buffer.from(got.body), body);
  assert.deepEqual({ ...got.headers }, { "x-a": "1", "x-ü": "é:\n" });
  assert.equal(got.contentType, "application/octet-stream");
  assert.deepEqual(got.position, { offset: 7, epoch: "e1" });

  a.unsubscribe("/topic/x");
  await sleep(100);
  assert.equal(await numsub(admin, "herald:bus:/topic/x"), 1, "still one local subscriber");
  await b.publish(msg("/topic/x", "second"));
  await ra.until(() => ra.messages.length === 2, "A to still receive");

  a.unsubscribe("/topic/x");
  assert.equal(a.subscriptionCount(), 0);
  for (let i = 0; i < 100 && (await numsub(admin, "herald:bus:/topic/x")) !== 0; i++) await sleep(20);
  assert.equal(await numsub(admin, "herald:bus:/topic/x"), 0);
  // An extra unsubscribe is ignored, not a negative count.
  a.unsubscribe("/topic/x");
  assert.equal(a.subscriptionCount(), 0);

  await b.publish(msg("/topic/x", "after"));
  await sleep(200);
  assert.equal(ra.messages.length, 2, "A receives nothing after its last unsubscribe");
  assert.equal(rb.messages.length, 0, "B has no subscriber and receives nothing");
});

test("a node delivers its own publishes to its subscribers exactly once (locally; the Redis echo is dropped)", async (t) => {
  const { a } = await setup(t);
  const ra = new Recorder(a);
  a.subscribe("/user/bob%40x/queue/n");
  await sleep(50);
  await a.publish(msg("/user/bob%40x/queue/n", "self"));
  await ra.until(() => ra.messages.length === 1, "own message");
  await sleep(150);
  assert.equal(ra.messages.length, 1);
  assert.equal(Buffer.from(ra.messages[0]!.body).toString(), "self");
});

test("10,000 publishes in one tick all arrive, in order, in few writes", async (t) => {
  const { a, b, admin } = await setup(t);
  const ra = new Recorder(a);
  a.subscribe("/topic/flood");
  for (let i = 0; i < 100 && (await numsub(admin, "herald:bus:/topic/flood")) !== 1; i++) await sleep(20);
  const before = await admin.info("stats");
  const n = 10_000;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) sends.push(b.publish(msg("/topic/flood", String(i), { id: String(i) })));
  await Promise.all(sends);
  await ra.until(() => ra.messages.length === n, `${n} messages`, 15_000);
  assert.deepEqual(
    ra.messages.map((m) => Buffer.from(m.body).toString()),
    Array.from({ length: n }, (_, i) => String(i)),
  );
  // Pipelined: the publisher's socket saw far fewer reads on the server than commands.
  const reads = (s: string) => Number(/total_reads_processed:(\d+)/.exec(s)?.[1] ?? NaN);
  const after = await admin.info("stats");
  const delta = reads(after) - reads(before);
  assert.ok(delta < n / 10, `server processed ${delta} reads for ${n} publishes`);
  t.diagnostic(`${n} publishes took ${delta} server reads`);
});

test("a malformed payload on a subscribed channel is counted and reported, never crashes", async (t) => {
  const malformed: string[] = [];
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url, channelPrefix: "p:", onMalformed: (err, ch) => malformed.push(`${ch}: ${err.message}`) });
  const admin = createRedisClient(parseRedisUrl(server.url), { name: "admin" }) as Redis;
  t.after(async () => {
    await a.close();
    admin.disconnect();
    await server.dispose();
  });
  await whenBusUp(a, 5000);
  const ra = new Recorder(a);
  a.subscribe("/topic/m");
  for (let i = 0; i < 100 && (await numsub(admin, "p:/topic/m")) !== 1; i++) await sleep(20);
  await admin.publish("p:/topic/m", "garbage");
  // An envelope for another destination published on this channel is rejected too.
  await admin.publish("p:/topic/m", encodeEnvelope(msg("/topic/other", "forged")));
  // From another node: a's own publishes are delivered locally and never counted as received.
  await admin.publish("p:/topic/m", encodeEnvelope(msg("/topic/m", "good"), "another-node"));
  await ra.until(() => ra.messages.length === 1, "the good message");
  assert.equal(a.stats.malformed, 2);
  assert.equal(a.stats.received, 1);
  assert.match(malformed[0]!, /^p:\/topic\/m: bus envelope/);
  assert.match(malformed[1]!, /does not match channel/);
});

test("bad input gets a clear error", async (t) => {
  assert.throws(() => new RedisBus({}), /needs redisUrl or target/);
  assert.throws(() => new RedisBus({ redisUrl: "http://x" }), /REDIS_URL: .* unknown scheme/);
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url });
  t.after(async () => {
    await a.close();
    await server.dispose();
  });
  assert.throws(() => a.subscribe(""), /RedisBus\.subscribe: destination must be a non-empty string/);
  await assert.rejects(a.publish(msg("", "x")), /RedisBus\.publish: destination/);
});

test("createBus: LocalBus without a URL, RedisBus with one; a closed bus rejects publishes", async (t) => {
  assert.ok(createBus() instanceof LocalBus);
  assert.ok(createBus({ redisUrl: "" }) instanceof LocalBus);
  await whenBusUp(createBus(), 10);
  const server = await RedisServer.start();
  t.after(() => server.dispose());
  const bus = createBus({ redisUrl: server.url, channelPrefix: "x:" });
  assert.ok(bus instanceof RedisBus);
  await whenBusUp(bus, 5000);
  assert.equal(bus.state, "up");
  await bus.close();
  await assert.rejects(bus.publish(msg("/topic/a", "x")), BusUnavailableError);
});
