import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { RedisServer, waitFor } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, reconnectDelay, type Redis } from "../src/index.js";

test("reconnect delay grows, is capped, and never gives up", () => {
  for (let i = 1; i < 1000; i += 7) {
    const d = reconnectDelay(i);
    assert.ok(d > 0 && d <= 2400, `attempt ${i}: ${d}`);
  }
  assert.ok(reconnectDelay(1) < 200);
  assert.ok(reconnectDelay(50) >= 1600);
});

test("purpose.name is required", () => {
  assert.throws(() => createRedisClient(parseRedisUrl("redis://127.0.0.1:1"), { name: "", lazy: true }), /purpose\.name/);
});

test("a client against a real redis-server: db, connection name, reconnect after a restart", async (t) => {
  const server = await RedisServer.start();
  t.after(() => server.dispose());
  const client = createRedisClient(parseRedisUrl(`${server.url}/2`), { name: "test-client" }) as Redis;
  t.after(() => client.disconnect());
  client.on("error", () => {});

  await client.set("k", "v");
  assert.equal(await client.get("k"), "v");
  assert.equal(await client.client("GETNAME"), "herald:test-client");
  // The key lives in database 2, not 0.
  const other = createRedisClient(parseRedisUrl(server.url), { name: "test-db0" }) as Redis;
  t.after(() => other.disconnect());
  assert.equal(await other.get("k"), null);
  other.disconnect();

  await server.kill();
  await waitFor(() => client.status !== "ready", { timeoutMs: 2000, what: "client to notice the outage" });
  await server.restart();
  await waitFor(() => client.status === "ready", { timeoutMs: 5000, what: "client to reconnect" });
  await client.set("k2", "v2");
  assert.equal(await client.get("k2"), "v2");
});

test("offlineQueue: false fails fast while disconnected; forBullmq sets maxRetriesPerRequest null", async (t) => {
  const server = await RedisServer.start();
  t.after(() => server.dispose());
  const fast = createRedisClient(parseRedisUrl(server.url), { name: "fast", offlineQueue: false }) as Redis;
  t.after(() => fast.disconnect());
  fast.on("error", () => {});
  await once(fast, "ready");
  await server.kill();
  await waitFor(() => fast.status !== "ready", { timeoutMs: 2000, what: "outage noticed" });
  const started = Date.now();
  await assert.rejects(fast.get("x"));
  assert.ok(Date.now() - started < 100);

  const bull = createRedisClient(parseRedisUrl(server.url), { name: "bull", forBullmq: true, lazy: true }) as Redis;
  assert.equal(bull.options.maxRetriesPerRequest, null);
  assert.equal(bull.options.protocol, 2);
  assert.equal(bull.status, "wait");
  bull.disconnect();
});

test("a password in the URL is sent", async (t) => {
  // The testkit's readiness probe sends an unauthenticated PING, so require the password only once it is up.
  const server = await RedisServer.start();
  t.after(() => server.dispose());
  const admin = createRedisClient(parseRedisUrl(server.url), { name: "admin" }) as Redis;
  await admin.config("SET", "requirepass", "p@ss");
  admin.disconnect();
  const wrong = createRedisClient(parseRedisUrl(`redis://:nope@127.0.0.1:${server.port}`), { name: "wrong", lazy: true, offlineQueue: false }) as Redis;
  wrong.on("error", () => {});
  t.after(() => wrong.disconnect());
  await assert.rejects(wrong.connect());
  const ok = createRedisClient(parseRedisUrl(`redis://:p%40ss@127.0.0.1:${server.port}`), { name: "auth" }) as Redis;
  t.after(() => ok.disconnect());
  assert.equal(await ok.ping(), "PONG");
});
