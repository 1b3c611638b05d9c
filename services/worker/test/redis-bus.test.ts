import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer, waitFor } from "@herald/testkit";
import { BullmqNotificationQueue } from "@herald/queue";
import { createBus, whenBusUp, type Bus } from "@herald/bus";
import { createRegistry } from "@herald/observability";
import { createNotificationProcessor, startBullmqWorker } from "../src/index.js";
import { bullmqConnection, collect, silentLogger } from "./helpers.js";

// Production shape: BullMQ on one Redis, the bus (RedisBus) on another; the worker
// publishes on node A's bus, a subscriber on node B's bus receives across Redis.
test("BullMQ → worker → RedisBus → another node; a bus outage is retried with backoff until Redis is back", { timeout: 60_000 }, async () => {
  const queueRedis = await RedisServer.start();
  const busRedis = await RedisServer.start();
  const conn = bullmqConnection(queueRedis.url, "worker-redis-bus");
  const publisher: Bus = createBus({ redisUrl: busRedis.url, redis: { name: "worker", onError: () => {} } });
  const node: Bus = createBus({ redisUrl: busRedis.url, redis: { name: "edge", onError: () => {} } });
  const registry = createRegistry();
  const queue = new BullmqNotificationQueue({ connection: conn, queueName: "rb" });
  const worker = startBullmqWorker({
    connection: conn,
    processor: createNotificationProcessor({ bus: publisher, logger: silentLogger, registry }),
    logger: silentLogger,
    registry,
    queueName: "rb",
    retry: { attempts: 20, backoffMs: 100, maxBackoffMs: 400 },
    queueGaugeIntervalMs: 0,
  });
  try {
    await whenBusUp(publisher);
    await whenBusUp(node);
    const got = collect(node, "/topic/prices", "/user/alice/queue/notifications");
    await waitFor(async () => {
      // Subscriptions are asynchronous: probe until the node hears the publisher.
      await publisher.publish({ id: "probe", destination: "/topic/prices", headers: {}, body: new Uint8Array(), publishedAt: Date.now() });
      return got.some((m) => m.id === "probe");
    }, { what: "subscription on node B" });

    const t = await queue.enqueue({ destination: "/topic/prices", body: "189.5", contentType: "text/plain", headers: { "x-a": "1" }, createdAt: Date.now() });
    const u = await queue.enqueue({ user: "alice", destination: "/queue/notifications", body: "hi", contentType: "text/plain", headers: {}, createdAt: Date.now() });
    await waitFor(() => got.some((m) => m.id === t.id) && got.some((m) => m.id === u.id), { what: "both across Redis" });
    const tm = got.find((m) => m.id === t.id)!;
    assert.equal(Buffer.from(tm.body).toString(), "189.5");
    assert.deepEqual(tm.headers, { "x-a": "1" });
    assert.equal(got.find((m) => m.id === u.id)!.destination, "/user/alice/queue/notifications");

    await busRedis.kill();
    await waitFor(() => publisher.state === "down", { what: "bus down" });
    const during = await queue.enqueue({ destination: "/topic/prices", body: "during outage", contentType: "text/plain", headers: {}, createdAt: Date.now() });
    await waitFor(async () => {
      const s = await queue.getState(during.id);
      return s?.state === "queued" && (s.attempts ?? 0) >= 2 && s.reason !== undefined;
    }, { what: "retrying with a reason", timeoutMs: 10_000 });
    // Pub/sub is at-most-once: a retry that lands before node B has resubscribed is lost to B.
    // Hold the worker while Redis comes back and B resubscribes, then let the retry run.
    await worker.worker.pause();
    await busRedis.restart();
    await whenBusUp(publisher, 15_000);
    await whenBusUp(node, 15_000);
    await waitFor(async () => {
      await publisher.publish({ id: "probe-2", destination: "/topic/prices", headers: {}, body: new Uint8Array(), publishedAt: Date.now() });
      return got.some((m) => m.id === "probe-2");
    }, { what: "node B subscribed again", timeoutMs: 15_000 });
    worker.worker.resume();
    await waitFor(() => got.some((m) => m.id === during.id), { what: "delivery after the outage", timeoutMs: 20_000 });
    const s = await queue.getState(during.id);
    assert.equal(s?.state, "delivered");
    assert.ok((s?.attempts ?? 0) >= 3, `attempts ${s?.attempts}`);
    assert.equal((await queue.queue.getJobCounts("failed")).failed, 0);
  } finally {
    await worker.stop();
    await queue.close();
    await publisher.close();
    await node.close();
    conn.disconnect();
    await busRedis.dispose();
    await queueRedis.dispose();
  }
});
