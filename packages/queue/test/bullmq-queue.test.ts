import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { RedisServer, waitFor } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, type Cluster, type Redis } from "@herald/redis";
import { BullmqNotificationQueue, IdempotencyConflictError, NotificationValidationError, QueueUnavailableError, type NotificationJob } from "../src/index.js";

let redis: RedisServer;
let conn: Redis | Cluster;
before(async () => {
  redis = await RedisServer.start();
  conn = createRedisClient(parseRedisUrl(redis.url), { name: "queue-test", forBullmq: true });
});
after(async () => {
  conn.disconnect();
  await redis.dispose();
});

const job = (over: Partial<NotificationJob> = {}): NotificationJob => ({ destination: "/topic/x", body: "b", contentType: "text/plain", headers: { "x-a": "1" }, createdAt: 1, ...over });
const fresh = () => new BullmqNotificationQueue({ connection: conn, queueName: `q-${Math.random().toString(36).slice(2)}` });

test("enqueue stores the validated job under its id; getState says queued", async () => {
  const q = fresh();
  try {
    const { id, duplicate } = await q.enqueue(job());
    assert.equal(duplicate, false);
    const stored = await q.queue.getJob(id);
    assert.deepEqual(stored?.data, job());
    assert.deepEqual(await q.getState(id), { id, state: "queued", attempts: 0 });
    assert.equal(await q.getState("00000000-0000-0000-0000-000000000000"), undefined);
    await assert.rejects(q.enqueue(job({ destination: "/app/x" })), NotificationValidationError);
  } finally {
    await q.close();
  }
});

test("the same Idempotency-Key returns the same id and enqueues nothing more; for another notification it is refused", async () => {
  const q = fresh();
  try {
    const a = await q.enqueue(job(), { idempotencyKey: "order-42" });
    // createdAt is the server's clock, not part of the notification.
    const b = await q.enqueue(job({ createdAt: 2 }), { idempotencyKey: "order-42" });
    assert.deepEqual(b, { id: a.id, duplicate: true });
    await assert.rejects(q.enqueue(job({ body: "again" }), { idempotencyKey: "order-42" }), IdempotencyConflictError);
    await assert.rejects(q.enqueue(job({ headers: {} }), { idempotencyKey: "order-42" }), IdempotencyConflictError);
    assert.equal(await q.queue.getJobCountByTypes("waiting"), 1);
    const dedupId = createHash("sha256").update("order-42").digest("hex");
    const ttl = await conn.ttl(`bull:${q.queue.name}:de:${dedupId}`);
    assert.ok(ttl > 86_000 && ttl <= 86_400, `ttl ${ttl}`);
    // The fingerprint outlives the deduplication key, so the key is never free for another notification while it names a job.
    const fpTtl = await conn.ttl(`bull:${q.queue.name}:idem:${dedupId}`);
    assert.ok(fpTtl > ttl, `fingerprint ttl ${fpTtl} vs ${ttl}`);
  } finally {
    await q.close();
  }
});

test("idempotency scopes keep two callers' keys apart", async () => {
  const q = fresh();
  try {
    const a = await q.enqueue(job(), { idempotencyKey: "k", idempotencyScope: "caller-a" });
    const b = await q.enqueue(job({ body: "b's own" }), { idempotencyKey: "k", idempotencyScope: "caller-b" });
    const shared = await q.enqueue(job({ body: "unscoped" }), { idempotencyKey: "k" });
    assert.equal(new Set([a.id, b.id, shared.id]).size, 3);
    assert.ok(!a.duplicate && !b.duplicate && !shared.duplicate);
    assert.deepEqual(await q.enqueue(job({ body: "b's own" }), { idempotencyKey: "k", idempotencyScope: "caller-b" }), { id: b.id, duplicate: true });
    const [batched] = await q.enqueueBatch([job({ idempotencyKey: "k" })], { idempotencyScope: "caller-a" });
    assert.deepEqual(batched, { id: a.id, duplicate: true });
    assert.equal(await q.queue.getJobCountByTypes("waiting"), 3);
  } finally {
    await q.close();
  }
});

test("concurrent requests with one key: one job; with different notifications, exactly one wins", async () => {
  const q = fresh();
  try {
    const same = await Promise.all(Array.from({ length: 8 }, () => q.enqueue(job(), { idempotencyKey: "race" })));
    assert.equal(new Set(same.map((r) => r.id)).size, 1);
    assert.equal(same.filter((r) => !r.duplicate).length, 1);
    const settled = await Promise.allSettled(["x", "y", "z"].map((body) => q.enqueue(job({ body }), { idempotencyKey: "race-2" })));
    assert.equal(settled.filter((s) => s.status === "fulfilled").length, 1);
    for (const s of settled) if (s.status === "rejected") assert.ok(s.reason instanceof IdempotencyConflictError, String(s.reason));
    assert.equal(await q.queue.getJobCountByTypes("waiting"), 2);
  } finally {
    await q.close();
  }
});

test("a batch is stored together; invalid items and repeated keys answer per item", async () => {
  const q = fresh();
  try {
    const prior = await q.enqueue(job({ idempotencyKey: "seen" }));
    const r = await q.enqueueBatch([
      job(),
      job({ destination: "nope" }),
      job({ idempotencyKey: "seen" }),
      job({ idempotencyKey: "new" }),
      job({ idempotencyKey: "new" }),
      job({ idempotencyKey: "seen", body: "other" }),
      job({ idempotencyKey: "new", body: "other" }),
    ]);
    assert.equal(r.length, 7);
    assert.ok("id" in r[0]! && !r[0].duplicate);
    assert.equal("field" in r[1]! && r[1].field, "destination");
    assert.deepEqual(r[2], { id: prior.id, duplicate: true });
    assert.ok("id" in r[3]! && "id" in r[4]! && r[4].id === r[3].id && r[4].duplicate && !r[3].duplicate);
    assert.equal("field" in r[5]! && r[5].field, "idempotencyKey");
    assert.match("error" in r[6]! ? r[6].error : "", /different notification/);
    assert.equal(await q.queue.getJobCountByTypes("waiting"), 3);
  } finally {
    await q.close();
  }
});

test("with Redis down, enqueue fails within its timeout instead of hanging; retrying the key later yields one job", async () => {
  const server = await RedisServer.start();
  const c = createRedisClient(parseRedisUrl(server.url), { name: "down-test", forBullmq: true });
  c.on("error", () => {});
  const q = new BullmqNotificationQueue({ connection: c, queueName: "down", timeoutMs: 300 });
  try {
    await q.enqueue(job());
    await server.kill();
    const started = Date.now();
    await assert.rejects(q.enqueue(job(), { idempotencyKey: "k" }), QueueUnavailableError);
    assert.ok(Date.now() - started < 2000);
    await server.restart();
    await waitFor(() => c.status === "ready", { what: "reconnect" });
    // The timed-out attempt's commands were queued and run after the reconnect: its
    // fingerprint claim is stored, its add was never sent. The caller's retry with the
    // same key and notification must then go through, once.
    // (This Redis keeps no data across the restart: the first job is gone.)
    const fpKey = `bull:down:idem:${createHash("sha256").update("k").digest("hex")}`;
    await waitFor(async () => (await c.exists(fpKey)) === 1, { what: "late fingerprint claim", timeoutMs: 5000 });
    const retry = await q.enqueue(job(), { idempotencyKey: "k" });
    assert.equal(retry.duplicate, false);
    assert.deepEqual(await q.enqueue(job(), { idempotencyKey: "k" }), { id: retry.id, duplicate: true });
    assert.ok(await q.queue.getJob(retry.id));
    assert.equal(await q.queue.getJobCountByTypes("waiting"), 1);
  } finally {
    await q.close().catch(() => {});
    c.disconnect();
    await server.dispose();
  }
});
