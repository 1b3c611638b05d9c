import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RedisServer, waitFor } from "@herald/testkit";
import { BullmqNotificationQueue, type NotificationJob } from "@herald/queue";
import { bullmqConnection } from "./helpers.js";

const CHILD = fileURLToPath(new URL("../fixtures/worker-child.js", import.meta.url));

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("worker child did not start")), 10_000);
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`worker child exited with ${code}`)));
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

test("a worker SIGKILLed in the middle of 1,000 jobs loses none once a new worker runs", { timeout: 60_000 }, async () => {
  const redis = await RedisServer.start();
  const conn = bullmqConnection(redis.url, "crash-test");
  const queue = new BullmqNotificationQueue({ connection: conn, queueName: "crash" });
  const children: ChildProcess[] = [];
  const env = { REDIS_URL: redis.url, QUEUE: "crash", DELIVERED: "delivered", DELAY_MS: "5", CONCURRENCY: "10", LOCK_MS: "1000", STALLED_MS: "500" };
  try {
    const jobs: NotificationJob[] = Array.from({ length: 1000 }, (_, i) => ({
      destination: "/topic/crash",
      body: String(i),
      contentType: "text/plain",
      headers: {},
      createdAt: Date.now(),
    }));
    const results = await queue.enqueueBatch(jobs);
    const ids = results.map((r) => ("id" in r ? r.id : assert.fail(r.error)));

    const first = await startWorker(env);
    children.push(first);
    await waitFor(async () => (await conn.scard("delivered")) >= 200, { what: "200 deliveries", timeoutMs: 20_000, intervalMs: 5 });
    await kill(first, "SIGKILL");
    const counts = await queue.queue.getJobCounts("completed", "active");
    assert.ok(counts.completed! < 1000, `the first worker finished everything (${counts.completed}) before it was killed`);
    assert.ok(counts.active! > 0, "no job was in flight when the worker was killed");

    children.push(await startWorker(env));
    await waitFor(async () => (await queue.queue.getJobCounts("completed")).completed === 1000, { what: "1000 completed", timeoutMs: 30_000, intervalMs: 100 });
    const delivered = new Set(await conn.smembers("delivered"));
    assert.equal(delivered.size, 1000);
    for (const id of ids) assert.ok(delivered.has(id), `notification ${id} was lost`);
    assert.equal((await queue.queue.getJobCounts("failed")).failed, 0);
  } finally {
    for (const c of children) await kill(c, "SIGTERM");
    await queue.close();
    conn.disconnect();
    await redis.dispose();
  }
});
