import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { RedisServer } from "@herald/testkit";
import { createRedisClient, parseRedisUrl } from "@herald/redis";
import { BullmqNotificationQueue, QUEUE_NAME, validateNotification } from "../src/index.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

/** The first ```js block of the README, exactly as documented. */
function readmeExample(): string {
  const m = /```js\n([\s\S]*?)```/.exec(readFileSync(README, "utf8"));
  assert.ok(m, "README has a ```js example");
  return m[1]!;
}

test("the README's Node backend example enqueues a job Herald accepts", { timeout: 30_000 }, async () => {
  const redis = await RedisServer.start();
  // Next to this test so that `import "bullmq"` resolves from the workspace's node_modules.
  const file = fileURLToPath(new URL("./readme-example.tmp.mjs", import.meta.url));
  writeFileSync(file, readmeExample());
  const conn = createRedisClient(parseRedisUrl(redis.url), { name: "readme-test", forBullmq: true });
  const queue = new BullmqNotificationQueue({ connection: conn });
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { env: { ...process.env, REDIS_URL: redis.url }, timeout: 15_000 });
    const id = stdout.trim();
    assert.ok(id.length > 0, "the example printed the job id");
    const job = await queue.queue.getJob(id);
    assert.ok(job, `job ${id} is in ${QUEUE_NAME}`);
    const v = validateNotification(job.data);
    assert.ok(v.ok, v.ok ? "" : `${v.field}: ${v.error}`);
    assert.equal(v.value.user, "alice");
    assert.equal(v.value.destination, "/queue/notifications");
    assert.deepEqual(await queue.getState(id), { id, state: "queued", attempts: 0 });
  } finally {
    rmSync(file, { force: true });
    await queue.close();
    conn.disconnect();
    await redis.dispose();
  }
});
