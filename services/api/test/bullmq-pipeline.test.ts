import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { RedisServer, waitFor } from "@herald/testkit";
import { createRedisClient, parseRedisUrl } from "@herald/redis";
import { BullmqNotificationQueue } from "@herald/queue";
import { startBullmqWorker, type RunningWorker } from "@herald/worker";
import { startApi, post, get } from "./harness.js";

// The production shape: POST → BullmqNotificationQueue (real Redis) → BullMQ worker → bus.
test("POST → BullMQ → worker → bus, with idempotency across the Redis-backed queue and state via GET", { timeout: 30_000 }, async () => {
  const redis = await RedisServer.start();
  const conn = createRedisClient(parseRedisUrl(redis.url), { name: "api-pipeline", forBullmq: true });
  let worker: RunningWorker | undefined;
  const h = await startApi({}, (processor, registry) => {
    worker = startBullmqWorker({ connection: conn, processor, registry, logger: pino({ level: "silent" }), queueGaugeIntervalMs: 0 });
    return new BullmqNotificationQueue({ connection: conn });
  });
  try {
    h.subscribe("/user/alice/queue/notifications");
    const N = `${h.url}/v1/notifications`;
    const body = { user: "alice", destination: "/queue/notifications", body: { n: 1 } };
    const a = await post(N, body, { "idempotency-key": "pipeline-1" });
    const b = await post(N, body, { "idempotency-key": "pipeline-1" });
    assert.equal(a.status, 202);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.headers.get("idempotent-replayed"), "true");
    await waitFor(() => h.delivered.length === 1, { what: "delivery" });
    assert.equal(h.delivered[0]!.id, a.json.id);
    assert.equal(Buffer.from(h.delivered[0]!.body).toString(), '{"n":1}');
    await waitFor(async () => (await get(`${N}/${a.json.id}`)).json.state === "delivered", { what: "delivered state" });
    const batch = await post(`${N}/batch`, { notifications: [{ destination: "/topic/y", body: "1" }, { destination: "/topic/y", body: "2" }] });
    assert.equal(batch.status, 202);
    await waitFor(() => h.processed() === 3, { what: "3 jobs processed" });
    assert.equal(h.delivered.length, 1, "a duplicate was delivered");
  } finally {
    await worker?.stop();
    await h.close();
    conn.disconnect();
    await redis.dispose();
  }
});
