import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalBus, RedisBus, userBusDestination, type BusMessage } from "@herald/bus";
import { ConfigError } from "@herald/config";
import { compilePattern, createHistory, DEFAULT_USER_HISTORY, historyConfigFromEnv, historyPolicy, historyPolicyFromEnv, MemoryHistory, PublishRouter, RedisHistory } from "../src/index.js";
import { msg } from "./contract.js";

test("patterns: * is one word (or a run inside one), ** the rest as last word", () => {
  const cases: [string, string, boolean][] = [
    ["/topic/prices.**", "/topic/prices.AAPL", true],
    ["/topic/prices.**", "/topic/prices.AAPL.x", true],
    ["/topic/prices.**", "/topic/prices", false],
    ["/topic/prices.**", "/topic/pricesX", false],
    ["/topic/**", "/topic/a/b.c", true],
    ["/topic/*", "/topic/a", true],
    ["/topic/*", "/topic/a.b", false],
    ["/topic/*", "/topic/a/b", false],
    ["/topic/price-*", "/topic/price-eu", true],
    ["/topic/price-*", "/topic/price-", true],
    ["/topic/price-*", "/topic/price-eu.x", false],
    ["/topic/a.b", "/topic/aXb", false],
    ["/queue/jobs", "/queue/jobs", true],
  ];
  for (const [p, d, want] of cases) assert.equal(compilePattern(p).test(d), want, `${p} vs ${d}`);
  for (const bad of ["topic/x", "/topic//x", "/topic/a**", "/topic/**.x", "/topic/*a*", "/topic/x.", "/topic/a b", ""]) {
    assert.throws(() => compilePattern(bad), /history pattern/, bad);
  }
});

test("policy: user destinations always keep history; topics only when a rule matches, first rule wins", () => {
  const p = historyPolicy({ rules: [{ pattern: "/topic/prices.eu.*", maxMessages: 5, ttlSeconds: 10 }, { pattern: "/topic/prices.**", maxMessages: 500, ttlSeconds: 3600 }] });
  assert.deepEqual(p.optionsFor(userBusDestination("ann", "/queue/notifications")), DEFAULT_USER_HISTORY);
  assert.deepEqual(p.optionsFor("/topic/prices.eu.x"), { maxMessages: 5, ttlSeconds: 10 });
  assert.deepEqual(p.optionsFor("/topic/prices.us.x"), { maxMessages: 500, ttlSeconds: 3600 });
  assert.equal(p.optionsFor("/topic/chat"), undefined);
  assert.equal(p.optionsFor("/queue/x"), undefined);
  assert.equal(historyPolicy().optionsFor("/topic/prices.x"), undefined, "topics are off by default");
  assert.throws(() => historyPolicy({ rules: [{ pattern: "/user/**", maxMessages: 1, ttlSeconds: 1 }] }), /user destinations always keep history/);
  assert.throws(() => historyPolicy({ rules: [{ pattern: "/app/**", maxMessages: 1, ttlSeconds: 1 }] }), /\/app destinations/);
  assert.throws(() => historyPolicy({ rules: [{ pattern: "/topic/x", maxMessages: 0, ttlSeconds: 1 }] }), /maxMessages/);
  assert.throws(() => historyPolicy({ user: { maxMessages: 10, ttlSeconds: 0 } }), /ttlSeconds/);
});

test("env: defaults, overrides, and errors that name the variable", () => {
  assert.deepEqual(historyConfigFromEnv({}), { user: { maxMessages: 1000, ttlSeconds: 86_400 }, rules: [] });
  const c = historyConfigFromEnv({
    HERALD_HISTORY_USER_MAX: "50",
    HERALD_HISTORY_USER_TTL_S: "600",
    HERALD_HISTORY_TOPICS: " /topic/prices.**:500:3600 , /queue/jobs:10:60,",
  });
  assert.deepEqual(c, {
    user: { maxMessages: 50, ttlSeconds: 600 },
    rules: [
      { pattern: "/topic/prices.**", maxMessages: 500, ttlSeconds: 3600 },
      { pattern: "/queue/jobs", maxMessages: 10, ttlSeconds: 60 },
    ],
  });
  assert.deepEqual(historyPolicyFromEnv({ HERALD_HISTORY_TOPICS: "/topic/a:2:3" }).optionsFor("/topic/a"), { maxMessages: 2, ttlSeconds: 3 });
  const bad: [Record<string, string>, string, RegExp][] = [
    [{ HERALD_HISTORY_USER_MAX: "lots" }, "HERALD_HISTORY_USER_MAX", /whole number/],
    [{ HERALD_HISTORY_USER_MAX: "0" }, "HERALD_HISTORY_USER_MAX", /at least 1/],
    [{ HERALD_HISTORY_USER_TTL_S: "-5" }, "HERALD_HISTORY_USER_TTL_S", /at least 1/],
    [{ HERALD_HISTORY_TOPICS: "/topic/a" }, "HERALD_HISTORY_TOPICS", /expected <pattern>:<maxMessages>:<ttlSeconds>/],
    [{ HERALD_HISTORY_TOPICS: "/topic/a:5" }, "HERALD_HISTORY_TOPICS", /expected <pattern>/],
    [{ HERALD_HISTORY_TOPICS: ":5:5" }, "HERALD_HISTORY_TOPICS", /pattern is empty/],
    [{ HERALD_HISTORY_TOPICS: "/topic/a:x:5" }, "HERALD_HISTORY_TOPICS", /maxMessages "x"/],
    [{ HERALD_HISTORY_TOPICS: "/topic/a:5:0" }, "HERALD_HISTORY_TOPICS", /ttlSeconds "0"/],
    [{ HERALD_HISTORY_TOPICS: "/topic/a**:5:5" }, "HERALD_HISTORY_TOPICS", /"\*\*" must be a whole word/],
    [{ HERALD_HISTORY_TOPICS: "/user/**:5:5" }, "HERALD_HISTORY_TOPICS", /user destinations/],
  ];
  for (const [env, variable, re] of bad) {
    assert.throws(
      () => historyConfigFromEnv(env),
      (e: Error) => e instanceof ConfigError && e.variable === variable && e.message.startsWith(`${variable}: `) && re.test(e.message),
      JSON.stringify(env),
    );
  }
});

test("PublishRouter: history for kept destinations (positioned), the bare bus for others", async () => {
  const bus = new LocalBus();
  const history = new MemoryHistory(bus);
  const router = new PublishRouter(bus, history, historyPolicy({ rules: [{ pattern: "/topic/kept", maxMessages: 2, ttlSeconds: 60 }] }));
  const seen: BusMessage[] = [];
  bus.on("message", (m) => seen.push(m));
  for (const d of ["/topic/kept", "/topic/plain", "/user/ann/queue/n"]) bus.subscribe(d);
  try {
    const kept = await router.publish(msg("/topic/kept", "k"));
    const plain = await router.publish(msg("/topic/plain", "p"));
    const user = await router.publish(msg("/user/ann/queue/n", "u"));
    assert.equal(kept.position?.offset, 1);
    assert.equal(plain.position, undefined);
    assert.equal(user.position?.offset, 1);
    assert.equal(router.keepsHistory("/topic/plain"), false);
    assert.equal(router.keepsHistory("/user/x/queue/y"), true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen.map((m) => [m.destination, m.position?.offset]), [
      ["/topic/kept", 1],
      ["/topic/plain", undefined],
      ["/user/ann/queue/n", 1],
    ]);
    assert.equal((await history.latest("/topic/plain")).offset, 0, "nothing appended for a destination without history");
  } finally {
    await history.close();
  }
});

test("createHistory: memory without REDIS_URL, Redis with it; a mismatched bus is refused", async (t) => {
  const local = new LocalBus();
  const mem = createHistory({ bus: local });
  assert.ok(mem instanceof MemoryHistory);
  await mem.close();
  assert.ok(createHistory({ bus: local, redisUrl: "  " }) instanceof MemoryHistory);
  assert.throws(() => createHistory({ bus: local, redisUrl: "redis://127.0.0.1:1" }), /LocalBus/);
  // Port 1 refuses at once; close() stops the reconnect attempts.
  const redisBus = new RedisBus({ redisUrl: "redis://127.0.0.1:1", name: "create-test" });
  t.after(() => redisBus.close());
  assert.throws(() => createHistory({ bus: redisBus }), /RedisBus/);
  const rh = createHistory({ bus: redisBus, redisUrl: "redis://127.0.0.1:1", redis: { name: "create-test" } });
  assert.ok(rh instanceof RedisHistory);
  await rh.close();
  assert.throws(() => createHistory({ bus: redisBus, redisUrl: "http://x" }), /REDIS_URL/);
});
