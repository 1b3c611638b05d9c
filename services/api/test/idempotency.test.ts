import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { RedisServer, waitFor } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, type Cluster, type Redis } from "@herald/redis";
import { BullmqNotificationQueue } from "@herald/queue";
import { startBullmqWorker, type RunningWorker } from "@herald/worker";
import { startApi, post, type ApiHarness } from "./harness.js";

const KEYS = ["alpha-secret-key-0001", "beta-secret-key-0002"];
const alpha = { authorization: `Bearer ${KEYS[0]}` };
const beta = { authorization: `Bearer ${KEYS[1]}` };
const DEST = "/topic/idem";

/** Waits until the queue has processed `n` jobs in all, then checks that no more come. */
async function processedExactly(h: ApiHarness, n: number): Promise<void> {
  await waitFor(() => h.processed() >= n, { what: `${n} jobs processed` });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.processed(), n, "more jobs were processed than notifications accepted");
}

const deliveredBodies = (h: ApiHarness, id: unknown) => h.delivered.filter((d) => d.id === id).map((d) => Buffer.from(d.body).toString());

/** The same rules, whichever queue is behind the API. */
async function scenario(h: ApiHarness): Promise<void> {
  h.subscribe(DEST);
  const N = `${h.url}/v1/notifications`;
  const body = { destination: DEST, body: "order 42 shipped" };

  // Same key, same notification: same id, one job.
  const a = await post(N, body, { ...alpha, "idempotency-key": "order-42" });
  const again = await post(N, { ...body, body: "order 42 shipped" }, { ...alpha, "idempotency-key": "order-42" });
  assert.equal(a.status, 202);
  assert.deepEqual([again.status, again.json.id, again.headers.get("idempotent-replayed")], [202, a.json.id, "true"]);
  // The key may come in the body too; it is the same key.
  const inBody = await post(N, { ...body, idempotencyKey: "order-42" }, alpha);
  assert.deepEqual([inBody.status, inBody.json.id], [202, a.json.id]);
  await processedExactly(h, 1);

  // Same key, different notification: 422 naming the key, nothing enqueued.
  const other = await post(N, { ...body, body: "order 43 shipped" }, { ...alpha, "idempotency-key": "order-42" });
  assert.equal(other.status, 422);
  assert.equal(other.json.field, "Idempotency-Key");
  assert.match(other.json.error as string, /already used .* different notification/);
  assert.equal(other.headers.get("idempotent-replayed"), null);
  const otherInBody = await post(N, { ...body, headers: { "x-a": "1" }, idempotencyKey: "order-42" }, alpha);
  assert.deepEqual([otherInBody.status, otherInBody.json.field], [422, "idempotencyKey"]);

  // Same key from another API key: another notification, delivered too.
  const b = await post(N, { ...body, body: "beta's order 42" }, { ...beta, "idempotency-key": "order-42" });
  assert.equal(b.status, 202);
  assert.notEqual(b.json.id, a.json.id);
  assert.equal(b.headers.get("idempotent-replayed"), null);
  await processedExactly(h, 2);
  await waitFor(() => deliveredBodies(h, b.json.id).length === 1, { what: "beta's delivery" });
  assert.deepEqual(deliveredBodies(h, a.json.id), ["order 42 shipped"]);
  assert.deepEqual(deliveredBodies(h, b.json.id), ["beta's order 42"]);

  // Concurrent duplicates: one job. Concurrent different notifications: one wins, the others get 422.
  const same = await Promise.all(Array.from({ length: 6 }, () => post(N, { destination: DEST, body: "race" }, { ...alpha, "idempotency-key": "race" })));
  assert.deepEqual(new Set(same.map((r) => r.status)), new Set([202]));
  assert.equal(new Set(same.map((r) => r.json.id)).size, 1);
  const mixed = await Promise.all(["x", "y", "z"].map((s) => post(N, { destination: DEST, body: s }, { ...beta, "idempotency-key": "race-2" })));
  assert.deepEqual(mixed.map((r) => r.status).sort(), [202, 422, 422]);
  await processedExactly(h, 4);

  // A batch follows the same rules per notification, in the caller's scope.
  const batch = await post(
    `${N}/batch`,
    {
      notifications: [
        { destination: DEST, body: "order 42 shipped", idempotencyKey: "order-42" },
        { destination: DEST, body: "changed", idempotencyKey: "order-42" },
        { destination: DEST, body: "new", idempotencyKey: "batch-1" },
        { destination: DEST, body: "new", idempotencyKey: "batch-1" },
        { destination: DEST, body: "not new", idempotencyKey: "batch-1" },
      ],
    },
    alpha,
  );
  assert.equal(batch.status, 207);
  const results = batch.json.results as Array<Record<string, unknown>>;
  assert.deepEqual(results[0], { id: a.json.id, replayed: true });
  assert.equal(results[1]!.field, "notifications[1].idempotencyKey");
  assert.ok(typeof results[2]!.id === "string" && results[2]!.replayed === undefined);
  assert.deepEqual(results[3], { id: results[2]!.id, replayed: true });
  assert.equal(results[4]!.field, "notifications[4].idempotencyKey");
  const betaBatch = await post(`${N}/batch`, { notifications: [{ destination: DEST, body: "changed", idempotencyKey: "order-42" }] }, beta);
  assert.equal(betaBatch.status, 400, "beta already used order-42 for another notification");
  assert.equal((betaBatch.json.results as Array<Record<string, unknown>>)[0]!.field, "notifications[0].idempotencyKey");
  await processedExactly(h, 5);
}

test("Idempotency-Key with the in-memory queue: replays, conflicts (422), per-API-key scopes, races, batches", async () => {
  const h = await startApi({ apiKeys: KEYS });
  try {
    await scenario(h);
  } finally {
    await h.close();
  }
});

test("Idempotency-Key with BullMQ on Redis: the same rules, and no API key in Redis", { timeout: 60_000 }, async () => {
  const redis = await RedisServer.start();
  const conn = createRedisClient(parseRedisUrl(redis.url), { name: "api-idempotency", forBullmq: true });
  let worker: RunningWorker | undefined;
  const h = await startApi({ apiKeys: KEYS }, (processor, registry) => {
    worker = startBullmqWorker({ connection: conn, processor, registry, logger: pino({ level: "silent" }), queueGaugeIntervalMs: 0 });
    return new BullmqNotificationQueue({ connection: conn });
  });
  try {
    await scenario(h);
    const stored = await dumpStrings(conn);
    assert.ok(stored.some((s) => s.includes(":idem:")), "no fingerprint keys: the test looked at the wrong Redis");
    for (const key of KEYS) assert.ok(!stored.some((s) => s.includes(key)), `an API key is stored in clear`);
  } finally {
    await worker?.stop();
    await h.close();
    conn.disconnect();
    await redis.dispose();
  }
});

/** Every key name and every string, hash, list, set and stream value in Redis. */
async function dumpStrings(conn: Redis | Cluster): Promise<string[]> {
  const out: string[] = [];
  for (const key of await conn.keys("*")) {
    out.push(key);
    const type = await conn.type(key);
    if (type === "string") out.push((await conn.get(key)) ?? "");
    else if (type === "hash") out.push(...Object.entries(await conn.hgetall(key)).flat());
    else if (type === "list") out.push(...(await conn.lrange(key, 0, -1)));
    else if (type === "set") out.push(...(await conn.smembers(key)));
    else if (type === "zset") out.push(...(await conn.zrange(key, "0", "-1")));
    else if (type === "stream") out.push(JSON.stringify(await conn.xrange(key, "-", "+")));
  }
  return out;
}

test("a bad Idempotency-Key header is a 400 naming it, and enqueues nothing", async () => {
  const h = await startApi();
  const N = `${h.url}/v1/notifications`;
  try {
    const cases: Array<[string, RegExp]> = [
      ["", /must not be empty/],
      ["k".repeat(257), /at most 256 characters/],
      ["tab\there", /printable ASCII/],
      // In the middle: uWebSockets.js trims bytes over 0x7f at either end of a header value, as whitespace.
      ["caf\u00e9-1", /printable ASCII/],
    ];
    for (const [key, message] of cases) {
      const r = await post(N, { destination: "/topic/x", body: "x" }, { "idempotency-key": key });
      assert.equal(r.status, 400, JSON.stringify(key));
      assert.equal(r.json.field, "Idempotency-Key");
      assert.match(r.json.error as string, message);
    }
    assert.equal((await post(N, { destination: "/topic/x", body: "x" }, { "idempotency-key": "k".repeat(256) })).status, 202);
    await processedExactly(h, 1);
  } finally {
    await h.close();
  }
});
