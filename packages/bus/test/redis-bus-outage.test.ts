import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, type Redis } from "@herald/redis";
import { BusUnavailableError, RedisBus, whenBusUp } from "../src/index.js";
import { Recorder, msg, sleep, twoBuses } from "./helpers.js";

test("outage: fast rejection, state events, subscriptions made while down, exact resubscribe", async (t) => {
  const server = await RedisServer.start();
  const [a, b] = await twoBuses(t, server.url, () => server.dispose());
  const ra = new Recorder(a);
  const rb = new Recorder(b);
  a.subscribe("/topic/old");
  a.subscribe("/topic/stale");
  await sleep(100);
  await b.publish(msg("/topic/old", "before"));
  await ra.until(() => ra.on("/topic/old").length === 1, "delivery before the outage");

  await server.kill();
  await ra.until(() => ra.states.includes("down"), "state down on A");
  await rb.until(() => rb.states.includes("down"), "state down on B");
  assert.equal(a.state, "down");

  const started = Date.now();
  await assert.rejects(b.publish(msg("/topic/old", "during")), (err: unknown) => {
    assert.ok(err instanceof BusUnavailableError);
    assert.match(err.message, /^Redis is unavailable: /);
    return true;
  });
  assert.ok(Date.now() - started < 500, `rejected after ${Date.now() - started} ms`);

  // Changes of interest while down are remembered: a new destination, and one dropped.
  a.subscribe("/topic/new");
  a.unsubscribe("/topic/stale");
  assert.equal(a.subscriptionCount(), 2);

  await server.restart();
  await ra.until(() => a.state === "up" && ra.states.at(-1) === "up", "state up on A", 5000);
  await rb.until(() => b.state === "up", "state up on B", 5000);
  assert.deepEqual(ra.states, ["down", "up"]);

  const admin = createRedisClient(parseRedisUrl(server.url), { name: "admin" }) as Redis;
  t.after(() => admin.disconnect());
  const channels = async () => ((await admin.pubsub("CHANNELS", "herald:bus:*")) as string[]).sort();
  for (let i = 0; i < 100 && (await channels()).length !== 2; i++) await sleep(20);
  assert.deepEqual(await channels(), ["herald:bus:/topic/new", "herald:bus:/topic/old"]);

  await b.publish(msg("/topic/old", "old-after"));
  await b.publish(msg("/topic/new", "new-after"));
  await b.publish(msg("/topic/stale", "stale-after"));
  await ra.until(() => ra.on("/topic/old").length === 2 && ra.on("/topic/new").length === 1, "old and new subscriptions to receive again");
  await sleep(150);
  assert.equal(ra.on("/topic/stale").length, 0);
  assert.equal(a.stats.outages, 1);
});

test("publishes in flight when the connection drops are rejected, not left hanging", async (t) => {
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url, name: "a", publishTimeoutMs: 3000 });
  t.after(async () => {
    await a.close();
    await server.dispose();
  });
  await whenBusUp(a, 5000);
  // A burst large enough to still be in flight when the server dies.
  const big = Buffer.alloc(64 * 1024, 7);
  const sends = Array.from({ length: 200 }, () => a.publish(msg("/topic/big", big)).then(() => "ok", (e: unknown) => e));
  await server.kill();
  const started = Date.now();
  const results = await Promise.all(sends);
  assert.ok(Date.now() - started < 2500, `settled after ${Date.now() - started} ms`);
  for (const r of results) assert.ok(r === "ok" || r instanceof BusUnavailableError, String(r));
});

test("a bus started while Redis is away comes up when Redis appears", async (t) => {
  const server = await RedisServer.start();
  await server.kill();
  const a = new RedisBus({ redisUrl: server.url, name: "late" });
  const r = new Recorder(a);
  t.after(async () => {
    await a.close();
    await server.dispose();
  });
  a.subscribe("/topic/early");
  // Rejected for the cluster, yet delivered to this node's own subscribers.
  await assert.rejects(a.publish(msg("/topic/early", "x")), BusUnavailableError);
  await r.until(() => r.on("/topic/early").length === 1, "local delivery while Redis is away");
  await server.restart();
  await whenBusUp(a, 5000);
  const b = new RedisBus({ redisUrl: server.url, name: "other" });
  t.after(() => b.close());
  await whenBusUp(b, 5000);
  await b.publish(msg("/topic/early", "hello"));
  await r.until(() => r.on("/topic/early").length === 2, "message from another node after late start");
});

test("a Redis that stops answering (SIGSTOP) makes publish reject after publishTimeoutMs instead of hanging", async (t) => {
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url, name: "a", publishTimeoutMs: 300 });
  t.after(async () => {
    if (server.pid) process.kill(server.pid, "SIGCONT");
    await a.close();
    await server.dispose();
  });
  await whenBusUp(a, 5000);
  await a.publish(msg("/topic/s", "answered"));
  process.kill(server.pid!, "SIGSTOP");
  const started = Date.now();
  await assert.rejects(a.publish(msg("/topic/s", "unanswered")), /Redis is unavailable: no reply to PUBLISH within 300 ms/);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 1500, `rejected after ${took} ms`);
  process.kill(server.pid!, "SIGCONT");
});
