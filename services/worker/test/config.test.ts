import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@herald/config";
import { workerConfigFromEnv } from "../src/index.js";

test("worker config defaults and overrides; bad values name the variable", () => {
  assert.deepEqual(workerConfigFromEnv({}), { concurrency: 50, retry: { attempts: 5, backoffMs: 1000, maxBackoffMs: 60_000 }, maxBodyBytes: 65536 });
  const c = workerConfigFromEnv({ HERALD_WORKER_CONCURRENCY: "8", HERALD_WORKER_ATTEMPTS: "2", HERALD_API_MAX_BODY_BYTES: "1MiB" });
  assert.equal(c.concurrency, 8);
  assert.equal(c.retry.attempts, 2);
  assert.equal(c.maxBodyBytes, 1024 * 1024);
  assert.throws(() => workerConfigFromEnv({ HERALD_WORKER_CONCURRENCY: "0" }), (e: unknown) => e instanceof ConfigError && e.variable === "HERALD_WORKER_CONCURRENCY");
  assert.throws(() => workerConfigFromEnv({ HERALD_WORKER_ATTEMPTS: "many" }), /HERALD_WORKER_ATTEMPTS/);
});
