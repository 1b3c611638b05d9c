import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@herald/config";
import { ConnectionCounter, DEFAULT_LIMITS, limitsConfigFromEnv, TokenBucket } from "../src/index.js";

test("token bucket: burst at once, then the rate", () => {
  const b = new TokenBucket(10, 3);
  const t0 = 1_000_000;
  assert.deepEqual([b.take(t0), b.take(t0), b.take(t0), b.take(t0)], [true, true, true, false]);
  assert.equal(b.msUntilAvailable(t0), 100);
  assert.equal(b.take(t0 + 50), false);
  assert.equal(b.take(t0 + 100), true);
  assert.equal(b.take(t0 + 100), false);
  // A long pause refills to the burst, not beyond.
  let n = 0;
  while (b.take(t0 + 60_000)) n++;
  assert.equal(n, 3);
});

test("token bucket: sustained rate over a simulated second", () => {
  const b = new TokenBucket(100, 1);
  let allowed = 0;
  for (let t = 0; t < 1000; t++) if (b.take(t)) allowed++;
  assert.equal(allowed, 100);
});

test("token bucket: a clock stepping back does not mint tokens", () => {
  const b = new TokenBucket(1, 1);
  assert.equal(b.take(10_000), true);
  assert.equal(b.take(5_000), false);
  assert.equal(b.take(10_500), false);
  assert.equal(b.take(11_000), true);
});

test("token bucket: bad parameters are named", () => {
  assert.throws(() => new TokenBucket(0, 1), /ratePerSec must be a positive number, got 0/);
  assert.throws(() => new TokenBucket(1, 0.5), /burst must be at least 1/);
  assert.throws(() => new TokenBucket(Number.NaN, 1), /ratePerSec/);
});

test("connection counter: per key caps, release frees a slot, zero keys are forgotten", () => {
  const c = new ConnectionCounter();
  assert.equal(c.tryAcquire("alice", 2), true);
  assert.equal(c.tryAcquire("alice", 2), true);
  assert.equal(c.tryAcquire("alice", 2), false);
  assert.equal(c.tryAcquire("bob", 2), true);
  assert.equal(c.count("alice"), 2);
  c.release("alice");
  assert.equal(c.tryAcquire("alice", 2), true);
  c.release("alice");
  c.release("alice");
  c.release("bob");
  assert.equal(c.size, 0);
  assert.equal(c.count("alice"), 0);
  assert.throws(() => c.release("alice"), /no connection is counted/);
});

test("limits from the environment: defaults", () => {
  assert.deepEqual(limitsConfigFromEnv({}), DEFAULT_LIMITS);
  assert.equal(DEFAULT_LIMITS.maxFrameBytes, 65536);
  assert.equal(DEFAULT_LIMITS.maxSubscriptionsPerConnection, 100);
  assert.equal(DEFAULT_LIMITS.maxConnectionsPerUser, 50);
  assert.equal(DEFAULT_LIMITS.maxConnectionsPerAddress, 1000);
  assert.equal(DEFAULT_LIMITS.sendRatePerSec, 100);
  assert.equal(DEFAULT_LIMITS.sendBurst, 200);
  assert.equal(DEFAULT_LIMITS.subscribeRatePerSec, 50);
  assert.equal(DEFAULT_LIMITS.subscribeBurst, 200);
  assert.equal(DEFAULT_LIMITS.connectTimeoutMs, 10_000);
  assert.equal(DEFAULT_LIMITS.maxConnections, 100_000);
  assert.equal(DEFAULT_LIMITS.apiRatePerSec, 1000);
});

test("limits from the environment: overrides and errors naming the variable", () => {
  const l = limitsConfigFromEnv({
    HERALD_MAX_FRAME_BYTES: "1MiB",
    HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION: "5",
    HERALD_MAX_CONNECTIONS_PER_USER: "3",
    HERALD_MAX_CONNECTIONS_PER_ADDRESS: "7",
    HERALD_SEND_RATE: "20",
    HERALD_SEND_BURST: "40",
    HERALD_SUBSCRIBE_RATE: "10",
    HERALD_SUBSCRIBE_BURST: "30",
    HERALD_CONNECT_TIMEOUT_MS: "2500",
    HERALD_MAX_CONNECTIONS: "900",
    HERALD_API_RATE: "50",
  });
  assert.deepEqual(l, {
    maxFrameBytes: 1024 * 1024,
    maxSubscriptionsPerConnection: 5,
    maxConnectionsPerUser: 3,
    maxConnectionsPerAddress: 7,
    sendRatePerSec: 20,
    sendBurst: 40,
    subscribeRatePerSec: 10,
    subscribeBurst: 30,
    connectTimeoutMs: 2500,
    maxConnections: 900,
    apiRatePerSec: 50,
  });
  const bad = (env: Record<string, string>, variable: string, msg: RegExp): void =>
    assert.throws(() => limitsConfigFromEnv(env), (e: unknown) => e instanceof ConfigError && e.variable === variable && msg.test(e.message));
  bad({ HERALD_SEND_RATE: "0" }, "HERALD_SEND_RATE", /at least 1/);
  bad({ HERALD_SUBSCRIBE_BURST: "0" }, "HERALD_SUBSCRIBE_BURST", /at least 1/);
  bad({ HERALD_MAX_CONNECTIONS: "lots" }, "HERALD_MAX_CONNECTIONS", /whole number/);
  bad({ HERALD_MAX_FRAME_BYTES: "12" }, "HERALD_MAX_FRAME_BYTES", /at least 1KiB/);
  bad({ HERALD_MAX_FRAME_BYTES: "64 parsecs" }, "HERALD_MAX_FRAME_BYTES", /size like/);
  bad({ HERALD_CONNECT_TIMEOUT_MS: "5" }, "HERALD_CONNECT_TIMEOUT_MS", /at least 100/);
});
