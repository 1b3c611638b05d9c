import { test } from "node:test";
import assert from "node:assert/strict";
import { apiConfigFromEnv, DEFAULT_API_CONFIG } from "../src/index.js";

test("API config defaults and overrides; bad values name the variable", () => {
  assert.deepEqual(apiConfigFromEnv({}), DEFAULT_API_CONFIG);
  const c = apiConfigFromEnv({ HERALD_API_KEYS: " a, b ,", HERALD_API_RATE: "5", HERALD_API_MAX_BODY_BYTES: "1KiB", HERALD_API_MAX_BATCH: "10" });
  assert.deepEqual(c.apiKeys, ["a", "b"]);
  assert.equal(c.ratePerSec, 5);
  assert.equal(c.burst, 5);
  assert.equal(c.maxBodyBytes, 1024);
  assert.equal(c.maxBatch, 10);
  assert.throws(() => apiConfigFromEnv({ HERALD_API_RATE: "fast" }), /HERALD_API_RATE/);
  assert.throws(() => apiConfigFromEnv({ HERALD_API_MAX_BODY_BYTES: "big" }), /HERALD_API_MAX_BODY_BYTES/);
});

test("a queue with a smaller body limit than the API's makes a 413, not a 500", async () => {
  const { startApi, post } = await import("./harness.js");
  const { InlineNotificationQueue } = await import("@herald/queue");
  const h = await startApi({ maxBodyBytes: 4096 }, (p) => new InlineNotificationQueue(p, { maxBodyBytes: 10 }));
  try {
    const r = await post(`${h.url}/v1/notifications`, { destination: "/topic/x", body: "x".repeat(100) });
    assert.equal(r.status, 413);
    assert.equal(r.json.field, "body");
    assert.equal(r.json.error, "body is larger than 10 bytes");
  } finally {
    await h.close();
  }
});
