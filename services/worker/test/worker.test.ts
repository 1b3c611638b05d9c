import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Queue } from "bullmq";
import { RedisServer, waitFor } from "@herald/testkit";
import { BullmqNotificationQueue, QUEUE_NAME, type NotificationJob } from "@herald/queue";
import { LocalBus } from "@herald/bus";
import { createRegistry, type Registry } from "@herald/observability";
import { createNotificationProcessor, startBullmqWorker, type RunningWorker } from "../src/index.js";
import { bullmqConnection, collect, FlakyBus, silentLogger } from "./helpers.js";

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis.dispose();
});

/** A queue + worker pair on its own queue name, torn down at the end. */
async function withWorker(
  bus: LocalBus,
  fn: (ctx: { queue: BullmqNotificationQueue; worker: RunningWorker; registry: Registry; queueName: string }) => Promise<void>,
  retry = { attempts: 3, backoffMs: 50, maxBackoffMs: 1000 },
): Promise<void> {
  const queueName = `test-${Math.random().toString(36).slice(2)}`;
  const conn = bullmqConnection(redis.url, "test");
  const registry = createRegistry();
  const queue = new BullmqNotificationQueue({ connection: conn, queueName });
  const processor = createNotificationProcessor({ bus, logger: silentLogger, registry });
  const worker = startBullmqWorker({ connection: conn, processor, logger: silentLogger, registry, queueName, concurrency: 5, retry, queueGaugeIntervalMs: 0 });
  try {
    await fn({ queue, worker, registry, queueName });
  } finally {
    await worker.stop();
    await queue.close();
    conn.disconnect();
  }
}

function job(over: Partial<NotificationJob> = {}): NotificationJob {
  return { destination: "/topic/prices.AAPL", body: '{"p":1}', contentType: "application/json", headers: { "x-src": "test" }, createdAt: Date.now(), ...over };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.reduce((s, v) => s + v.value, 0) ?? 0;
}

test("a queued topic and user notification reach the bus with their headers, id and body", async () => {
  const bus = new LocalBus();
  const got = collect(bus, "/topic/prices.AAPL", "/user/alice%40example.com/queue/notifications");
  await withWorker(bus, async ({ queue, registry }) => {
    const a = await queue.enqueue(job());
    const b = await queue.enqueue(job({ user: "alice@example.com", destination: "/queue/notifications", body: "hi", contentType: "text/plain", headers: {} }));
    await waitFor(() => got.length === 2, { what: "2 bus messages" });
    const topic = got.find((m) => m.id === a.id)!;
    assert.equal(topic.destination, "/topic/prices.AAPL");
    assert.equal(Buffer.from(topic.body).toString(), '{"p":1}');
    assert.equal(topic.contentType, "application/json");
    assert.deepEqual(topic.headers, { "x-src": "test" });
    const user = got.find((m) => m.id === b.id)!;
    assert.equal(user.destination, "/user/alice%40example.com/queue/notifications");
    assert.equal(Buffer.from(user.body).toString(), "hi");
    await waitFor(async () => (await queue.getState(a.id))?.state === "delivered", { what: "delivered state" });
    assert.deepEqual(await queue.getState(a.id), { id: a.id, state: "delivered", attempts: 1 });
    await waitFor(async () => (await metric(registry, "herald_jobs_completed_total")) === 2, { what: "completed metric" });
    assert.equal((await registry.getSingleMetric("herald_job_age_seconds")!.get()).values.find((v) => v.labels.le === "+Inf")!.value, 2);
  });
});

test("a failing bus publish is retried with exponential backoff until it succeeds", async () => {
  const bus = new FlakyBus(2);
  const got = collect(bus, "/topic/prices.AAPL");
  await withWorker(bus, async ({ queue, registry }) => {
    const started = Date.now();
    const { id } = await queue.enqueue(job());
    await waitFor(async () => (await queue.getState(id))?.state === "queued" && (await queue.getState(id))?.reason === "bus down", { what: "queued with reason", intervalMs: 5 });
    await waitFor(() => got.length === 1, { what: "delivery after retries", timeoutMs: 10_000 });
    // Backoff 50 ms then 100 ms, each ±20 %: at least 120 ms in all.
    assert.ok(Date.now() - started >= 120, `retried too fast: ${Date.now() - started} ms`);
    assert.equal(bus.publishes, 3);
    await waitFor(async () => (await queue.getState(id))?.state === "delivered", { what: "delivered" });
    assert.equal((await queue.getState(id))?.attempts, 3);
    assert.equal(await metric(registry, "herald_job_retries_total"), 2);
    assert.equal(await metric(registry, "herald_jobs_failed_total"), 0);
  });
});

test("a job whose attempts are exhausted stays in the failed set with its reason, visible via getState and metrics", async () => {
  const bus = new FlakyBus();
  bus.down = true;
  await withWorker(bus, async ({ queue, worker, registry }) => {
    const { id } = await queue.enqueue(job());
    await waitFor(async () => (await queue.getState(id))?.state === "failed", { what: "failed", timeoutMs: 10_000 });
    const state = await queue.getState(id);
    assert.equal(state?.state, "failed");
    assert.match(state!.reason!, /gave up after 3 attempts: bus down/);
    assert.equal(state?.attempts, 3);
    assert.equal(bus.publishes, 3);
    await waitFor(async () => (await metric(registry, "herald_jobs_failed_total")) === 1, { what: "failed metric" });
    assert.equal((await queue.queue.getFailed()).length, 1);
    await worker.refreshQueueGauge();
    const gauge = await registry.getSingleMetric("herald_queue_jobs")!.get();
    assert.equal(gauge.values.find((v) => v.labels.state === "failed")?.value, 1);
    assert.equal(gauge.values.find((v) => v.labels.state === "waiting")?.value, 0);
  });
});

test("an invalid job added straight to BullMQ fails at once with the field named", async () => {
  const bus = new FlakyBus();
  await withWorker(bus, async ({ queue, queueName }) => {
    const conn = bullmqConnection(redis.url, "backend");
    const raw = new Queue(queueName, { connection: conn });
    try {
      const added = await raw.add("notification", { destination: "/app/nope", body: "x" });
      await waitFor(async () => (await queue.getState(added.id!))?.state === "failed", { what: "failed" });
      const state = await queue.getState(added.id!);
      assert.match(state!.reason!, /invalid notification: destination: destination must start with \/topic\/ or \/queue\//);
      assert.equal(bus.publishes, 0);
    } finally {
      await raw.close();
      conn.disconnect();
    }
  });
});

test("stop() waits for the jobs in flight", async () => {
  const queueName = `test-stop-${Date.now()}`;
  const conn = bullmqConnection(redis.url, "test");
  const registry = createRegistry();
  const queue = new BullmqNotificationQueue({ connection: conn, queueName });
  let finished = 0;
  let started = 0;
  const worker = startBullmqWorker({
    connection: conn,
    registry,
    logger: silentLogger,
    queueName,
    queueGaugeIntervalMs: 0,
    processor: async () => {
      started++;
      await new Promise((r) => setTimeout(r, 300));
      finished++;
    },
  });
  try {
    await queue.enqueueBatch([job(), job(), job()]);
    await waitFor(() => started === 3, { what: "3 jobs started" });
    await worker.stop();
    assert.equal(finished, 3);
  } finally {
    await worker.stop();
    await queue.close();
    conn.disconnect();
  }
});

test("QUEUE_NAME is the queue the worker consumes by default", () => {
  assert.equal(QUEUE_NAME, "herald-notifications");
});
