import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BatchRefusedError, RedisBus, whenBusUp } from "@herald/bus";
import { RedisServer } from "@herald/testkit";
import { Redis } from "ioredis";
import { HistoryError, HistoryUnavailableError, RedisHistory } from "../src/index.js";
import { collect, historyContract, msg, sleep, uniqueDestination } from "./contract.js";
import { whenSubscribed } from "./subscribed.js";

const opts = { maxMessages: 100, ttlSeconds: 60 };

/** A RedisHistory on a redis-server of the test's own, with an admin connection; all closed after the test. */
async function ownHistory(t: TestContext, options: { commandTimeoutMs?: number } = {}): Promise<{ srv: RedisServer; h: RedisHistory; admin: Redis }> {
  const srv = await RedisServer.start();
  const h = new RedisHistory({ redisUrl: srv.url, ...options });
  const admin = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
  t.after(async () => {
    admin.disconnect();
    await h.close();
    await srv.dispose();
  });
  return { srv, h, admin };
}

// The contract, against a redis-server of this test's own.
let server: RedisServer;
let history: RedisHistory;
let bus: RedisBus;
let contractAdmin: Redis;
historyContract(
  "RedisHistory",
  async () => {
    server = await RedisServer.start();
    history = new RedisHistory({ redisUrl: server.url, name: "contract" });
    bus = new RedisBus({ redisUrl: server.url, name: "contract-sub" });
    contractAdmin = new Redis({ port: server.port, host: "127.0.0.1" });
    await whenBusUp(bus);
    return { history, bus, subscribed: (d) => whenSubscribed([contractAdmin], d, false) };
  },
  async () => {
    contractAdmin.disconnect();
    await history.close();
    await bus.close();
    await server.dispose();
  },
);

test("RedisHistory: key layout, entry IDs are offsets, TTL on both keys", async (t) => {
  const { h, admin } = await ownHistory(t);
  const firstMsg = await h.publish(msg("/topic/a", "1"), { maxMessages: 2, ttlSeconds: 30 });
  const p = firstMsg.position!;
  const mid = await h.publish(msg("/topic/a", "2"), { maxMessages: 2, ttlSeconds: 30 });
  const last = await h.publish(msg("/topic/a", "3"), { maxMessages: 2, ttlSeconds: 30 });
  assert.deepEqual(h.keysOf("/topic/a"), {
    meta: "herald:history:{herald:bus:/topic/a}:m",
    stream: "herald:history:{herald:bus:/topic/a}:s",
    recent: "herald:history:{herald:bus:/topic/a}:d",
    channel: "herald:bus:/topic/a",
  });
  assert.deepEqual(await admin.lrange("herald:history:{herald:bus:/topic/a}:d", 0, -1), [`3 ${last.id}`, `2 ${mid.id}`, `1 ${firstMsg.id}`]);
  assert.deepEqual(await admin.hgetall("herald:history:{herald:bus:/topic/a}:m"), { e: p.epoch, n: "3" });
  const entries = await admin.xrange("herald:history:{herald:bus:/topic/a}:s", "-", "+");
  assert.deepEqual(entries.map(([id]) => id), ["2-0", "3-0"]);
  for (const k of ["herald:history:{herald:bus:/topic/a}:m", "herald:history:{herald:bus:/topic/a}:s", "herald:history:{herald:bus:/topic/a}:d"]) {
    const ttl = await admin.pttl(k);
    assert.ok(ttl > 25_000 && ttl <= 30_000, `${k} TTL ${ttl}`);
  }
});

test("RedisHistory: a stream left without its meta hash (evicted) is replaced by a new epoch", async (t) => {
  const { h, admin } = await ownHistory(t);
  const d = "/topic/evicted";
  const old = (await h.publish(msg(d, "a"), opts)).position!;
  await h.publish(msg(d, "b"), opts);
  await admin.del(h.keysOf(d).meta);
  const fresh = (await h.publish(msg(d, "c"), opts)).position!;
  assert.equal(fresh.offset, 1);
  assert.notEqual(fresh.epoch, old.epoch);
  const r = await h.readSince(d, { offset: 0, epoch: fresh.epoch }, 10);
  assert.deepEqual(r.messages.map((m) => Buffer.from(m.body).toString()), ["c"]);
  // The meta hash without the stream: the messages are gone, the epoch is not.
  await admin.del(h.keysOf(d).stream);
  await h.publish(msg(d, "d"), opts);
  assert.deepEqual(await h.readSince(d, { offset: 0, epoch: fresh.epoch }, 10), {
    messages: [],
    complete: false,
    reason: "too-old",
    latest: { offset: 2, epoch: fresh.epoch },
  });
});

test("RedisHistory: Redis restarted without persistence → the epoch changes", async (t) => {
  const { srv, h } = await ownHistory(t);
  const d = uniqueDestination("/user/ann/queue/n");
  const before = (await h.publish(msg(d, "a"), opts)).position!;
  await srv.kill();
  await assert.rejects(h.publish(msg(d, "lost"), opts), (e: Error) => e instanceof HistoryUnavailableError && /Redis is unavailable/.test(e.message));
  await srv.restart();
  const after = await retry(() => h.readSince(d, before, 10));
  assert.equal(after.complete, false);
  assert.equal(after.reason, "epoch-changed");
  assert.notEqual(after.latest.epoch, before.epoch);
  assert.equal(after.latest.offset, 0);
  const next = (await h.publish(msg(d, "b"), opts)).position!;
  assert.equal(next.offset, 1);
  assert.ok(next.epoch !== before.epoch && next.epoch !== "", "a new epoch, made by the publish");
  // A reader that fell back to { 0, "" } gets all of the new epoch.
  assert.deepEqual((await h.readSince(d, after.latest, 10)).messages.map((m) => m.position), [next]);
});

test("RedisHistory: reading destinations that have no stream writes no key", async (t) => {
  const { h, admin } = await ownHistory(t);
  const before = await admin.dbsize();
  for (let i = 0; i < 200; i++) {
    const d = uniqueDestination("/user/churn/queue/n");
    assert.deepEqual(await h.latest(d), { offset: 0, epoch: "" });
    assert.equal((await h.readSince(d, { offset: 0, epoch: "" }, 10)).complete, true);
    assert.equal((await h.readSince(d, { offset: 5, epoch: "old" }, 10)).reason, "epoch-changed");
  }
  assert.equal(await admin.dbsize(), before);
});

test("RedisHistory: with --appendonly yes the epoch and offsets survive a restart", async (t) => {
  const srv = await RedisServer.start({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
  const h = new RedisHistory({ redisUrl: srv.url });
  t.after(async () => {
    await h.close();
    await srv.dispose();
  });
  const d = uniqueDestination("/user/ann/queue/n");
  const first = (await h.publish(msg(d, "a"), opts)).position!;
  const second = (await h.publish(msg(d, "b"), opts)).position!;
  await srv.kill();
  await srv.restart();
  const r = await retry(() => h.readSince(d, first, 10));
  assert.equal(r.complete, true);
  assert.deepEqual(r.latest, second);
  assert.deepEqual(r.messages.map((m) => m.position), [second]);
  assert.deepEqual((await h.publish(msg(d, "c"), opts)).position, { offset: 3, epoch: first.epoch });
});

test("RedisHistory: calls fail fast with HistoryUnavailableError while Redis is down, and work again after", async (t) => {
  const { srv, h } = await ownHistory(t, { commandTimeoutMs: 1000 });
  const d = uniqueDestination();
  await h.publish(msg(d, "a"), opts);
  await srv.stop();
  await sleep(100);
  const started = Date.now();
  for (const call of [() => h.publish(msg(d, "b"), opts), () => h.latest(d), () => h.readSince(d, { offset: 0, epoch: "x" }, 1)]) {
    await assert.rejects(call(), (e: Error) => e instanceof HistoryUnavailableError && e.message.includes(d));
  }
  assert.ok(Date.now() - started < 1000, "fail fast, not after the timeout");
  await srv.restart();
  await retry(() => h.publish(msg(d, "c"), opts));
});

test("RedisHistory: publishAll while Redis is down is refused before anything is sent (BatchRefusedError), and works again after", async (t) => {
  const { srv, h } = await ownHistory(t, { commandTimeoutMs: 1000 });
  const d = uniqueDestination();
  const first = await h.publish(msg(d, "a"), opts);
  await srv.stop();
  await sleep(100);
  await assert.rejects(
    h.publishAll([{ message: msg(d, "b"), options: opts }, { message: msg(uniqueDestination(), "c"), options: undefined }]),
    (e: Error) => e instanceof BatchRefusedError && /nothing was published/.test(e.message),
  );
  await srv.restart();
  // Refused (not unavailable-after-sending) until the connection is back.
  const refusedAsUnavailable = (e: unknown) => (e instanceof BatchRefusedError ? new HistoryUnavailableError(e.message) : e);
  const [b] = await retry(() => h.publishAll([{ message: msg(d, "b"), options: opts }]).catch((e: unknown) => Promise.reject(refusedAsUnavailable(e))));
  // The restarted server kept nothing (no persistence): a new epoch, starting at 1.
  assert.equal(b!.position!.offset, 1);
  assert.notEqual(b!.position!.epoch, first.position!.epoch);
  assert.deepEqual(await h.latest(d), b!.position);
});

test("RedisHistory: Redis refusing the script is a HistoryError with Redis's reason", async (t) => {
  const { h, admin } = await ownHistory(t);
  const d = "/topic/wrongtype";
  await admin.set(h.keysOf(d).meta, "not a hash");
  await assert.rejects(h.publish(msg(d, "x"), opts), (e: Error) => e instanceof HistoryError && !(e instanceof HistoryUnavailableError) && /WRONGTYPE/.test(e.message) && e.message.includes(d));
});

test("RedisHistory: first calls wait for the connection; a server that never comes fails within the timeout", async () => {
  const srv = await RedisServer.start();
  const port = srv.port;
  await srv.dispose();
  const h = new RedisHistory({ redisUrl: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 });
  try {
    const started = Date.now();
    await assert.rejects(h.latest("/topic/x"), (e: Error) => e instanceof HistoryUnavailableError && /not connected within 300 ms/.test(e.message));
    assert.ok(Date.now() - started < 2000);
  } finally {
    await h.close();
  }
});

test("RedisHistory: subscribers on other nodes get positioned messages; readSince matches what was delivered", async (t) => {
  const srv = await RedisServer.start();
  const h = new RedisHistory({ redisUrl: srv.url, name: "pub" });
  const nodes = [new RedisBus({ redisUrl: srv.url, name: "n1" }), new RedisBus({ redisUrl: srv.url, name: "n2" })];
  const admin = new Redis({ port: srv.port, host: "127.0.0.1" });
  t.after(async () => {
    admin.disconnect();
    await h.close();
    for (const b of nodes) await b.close();
    await srv.dispose();
  });
  await Promise.all(nodes.map((b) => whenBusUp(b)));
  const d = uniqueDestination("/user/cy/queue/n");
  const other = new Promise((resolve) => nodes[1]!.on("message", (m) => m.destination === d && m.position?.offset === 50 && resolve(m)));
  nodes[1]!.subscribe(d);
  const subject = { history: h, bus: nodes[0]!, subscribed: (dest: string) => whenSubscribed([admin], dest, false, 2) };
  const got = await collect(subject, d, 50, () => Promise.all(Array.from({ length: 50 }, (_, i) => h.publish(msg(d, String(i)), opts))));
  await other;
  assert.deepEqual(got.map((m) => m.position!.offset), Array.from({ length: 50 }, (_, i) => i + 1));
});

async function retry<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof HistoryUnavailableError) || Date.now() > end) throw err;
      await sleep(100);
    }
  }
}

test("RedisHistory: the dedupe window is the last N appends; 0 turns it off", async (t) => {
  const srv = await RedisServer.start();
  const windowed = new RedisHistory({ redisUrl: srv.url, dedupeWindow: 2 });
  const off = new RedisHistory({ redisUrl: srv.url, dedupeWindow: 0 });
  t.after(async () => {
    await windowed.close();
    await off.close();
    await srv.dispose();
  });
  const d = uniqueDestination();
  assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 1);
  await windowed.publish(msg(d, "a"), opts);
  assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 1, "within the window");
  await windowed.publish(msg(d, "b"), opts);
  assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 4, "past the window: a new message");
  const e = uniqueDestination();
  await off.publish(msg(e, "y", { id: "Y" }), opts);
  assert.equal((await off.publish(msg(e, "y", { id: "Y" }), opts)).position!.offset, 2);
  assert.throws(() => new RedisHistory({ redisUrl: srv.url, dedupeWindow: -1 }), /dedupeWindow/);
});

test("RedisHistory: approximate trimming keeps at least the cap and still reports what it lost", async (t) => {
  const srv = await RedisServer.start({ args: ["--stream-node-max-entries", "10"] });
  const h = new RedisHistory({ redisUrl: srv.url, trim: "approximate" });
  const admin = new Redis({ port: srv.port, host: "127.0.0.1" });
  t.after(async () => {
    admin.disconnect();
    await h.close();
    await srv.dispose();
  });
  const d = uniqueDestination();
  let epoch = "";
  for (let i = 1; i <= 100; i++) epoch = (await h.publish(msg(d, String(i)), { maxMessages: 15, ttlSeconds: 60 })).position!.epoch;
  const kept = await admin.xlen(h.keysOf(d).stream);
  assert.ok(kept >= 15 && kept < 100, `kept ${kept}`);
  const first = 100 - kept + 1;
  const ok = await h.readSince(d, { offset: first - 1, epoch }, 1000);
  assert.equal(ok.complete, true);
  assert.equal(ok.messages.length, kept);
  assert.equal(ok.messages[0]!.position!.offset, first);
  assert.equal((await h.readSince(d, { offset: first - 2, epoch }, 1000)).reason, "too-old");
});
