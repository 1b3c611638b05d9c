import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { publishScenario } from "./e2e-scenario.js";

// Through the real CLI (services/cli), the way `npm start` runs Herald.
test("CLI, embedded default: POST → inline queue → processor → bus → STOMP clients, on the edge's port", { timeout: 60_000 }, async () => {
  const herald = await HeraldProcess.start({ env: { HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_API_KEYS: "cli-key" } });
  try {
    assert.equal((await fetch(`${herald.httpUrl}/v1/openapi.json`)).status, 200, "the CLI mounts the API");
    await publishScenario(herald.httpUrl, herald.wsUrl, "Bearer cli-key");
  } finally {
    await herald.stop();
  }
});

test("CLI with REDIS_URL: POST → BullMQ → worker → RedisBus → STOMP clients", { timeout: 60_000 }, async () => {
  const redis = await RedisServer.start();
  try {
    const herald = await HeraldProcess.start({ env: { REDIS_URL: redis.url, HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_API_KEYS: "cli-key" } });
    try {
      assert.equal((await fetch(`${herald.httpUrl}/v1/openapi.json`)).status, 200, "the CLI mounts the API");
      await publishScenario(herald.httpUrl, herald.wsUrl, "Bearer cli-key");
    } finally {
      await herald.stop();
    }
  } finally {
    await redis.dispose();
  }
});

test("CLI roles apart: api, worker and edge in three processes sharing Redis", { timeout: 90_000 }, async () => {
  const redis = await RedisServer.start();
  const started: HeraldProcess[] = [];
  try {
    const common = { REDIS_URL: redis.url, HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_API_KEYS: "roles-key" };
    const [edge, api, worker] = await Promise.all(
      ["edge", "api", "worker"].map((roles) => HeraldProcess.start({ env: { ...common, HERALD_ROLES: roles } }).then((h) => (started.push(h), h))),
    );
    assert.equal((await fetch(`${edge!.httpUrl}/v1/openapi.json`)).status, 404, "the edge-only process serves no API");
    assert.ok(worker);
    await publishScenario(api!.httpUrl, edge!.wsUrl, "Bearer roles-key");
  } finally {
    for (const h of started) await h.stop();
    await redis.dispose();
  }
});
