import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisServer, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { bodyOf, errorsOf, header, messages, stompAs, subscribe, waitFor } from "./delivery-helpers.js";

/**
 * Redis with persistence (AOF, fsync always) is SIGKILLed and restarted while the publish API
 * takes notifications: every notification answered 202 reaches the user, in offset order.
 */
let redis: RedisServer;
let edge: HeraldProcess;
let api: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  redis = await RedisServer.start({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
  const env = { REDIS_URL: redis.url, HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_WORKER_BACKOFF_MS: "200", HERALD_WORKER_MAX_BACKOFF_MS: "1000", HERALD_WORKER_ATTEMPTS: "20",
    // A job that was active when Redis died is retried once its lock lapses: 2 s here instead of BullMQ's 30 s.
    HERALD_WORKER_LOCK_MS: "2000",
    HERALD_WORKER_STALLED_INTERVAL_MS: "1000",
  };
  [edge, api] = await Promise.all([
    HeraldProcess.start({ env: { ...env, HERALD_ROLES: "edge", HERALD_NODE_ID: "edge" } }),
    HeraldProcess.start({ env: { ...env, HERALD_ROLES: "api,worker", HERALD_NODE_ID: "api" } }),
  ]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([edge.stop("SIGKILL"), api.stop("SIGKILL")]);
  await redis.dispose();
});

/** POSTs one notification; resolves with its body when answered 202, undefined otherwise. */
async function notify(body: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${api.httpUrl}/v1/notifications`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "alice", destination: "/queue/alerts", body }),
      signal: AbortSignal.timeout(20_000),
    });
    await res.arrayBuffer();
    return res.status === 202 ? body : undefined;
  } catch {
    return undefined;
  }
}

test("Redis SIGKILLed and restarted with AOF: every notification answered 202 is delivered, in order", { timeout: 90_000 }, async () => {
  const alice = await stompAs(edge.wsUrl, "alice");
  clients.push(alice);
  await subscribe(alice, "a", "/user/queue/alerts");
  const accepted: string[] = [];
  const take = async (bodies: string[]) => {
    for (const b of await Promise.all(bodies.map(notify))) if (b !== undefined) accepted.push(b);
  };

  await take(Array.from({ length: 40 }, (_, i) => `before-${i}`));
  assert.equal(accepted.length, 40);
  // Some of these are in flight when Redis dies: only those answered 202 must arrive.
  const during = take(Array.from({ length: 40 }, (_, i) => `during-${i}`));
  await redis.kill();
  await new Promise((r) => setTimeout(r, 500));
  await redis.restart();
  await during;
  await take(Array.from({ length: 40 }, (_, i) => `after-${i}`));
  assert.ok(accepted.length >= 80, `at least the 80 sent while Redis was up were accepted (got ${accepted.length})`);

  const delivered = () => new Set(messages(alice, "a").map(bodyOf));
  const t0 = Date.now();
  await waitFor(() => accepted.every((b) => delivered().has(b)), {
    timeoutMs: 30_000,
    what: `every accepted notification delivered (missing: ${accepted.filter((b) => !delivered().has(b)).slice(0, 5).join(", ")}…) ${errorsOf(alice)}`,
  }).catch((err: Error) => {
    const got = messages(alice, "a").map((f) => `${header(f, "herald-offset")}:${bodyOf(f)}`);
    throw new Error(`${err.message}\nreceived ${got.length}: ${got.join(" ")}\n--- edge ---\n${edge.output.slice(-3000)}\n--- api ---\n${api.output.slice(-3000)}`);
  });
  assert.ok(Date.now() - t0 < 30_000);
  const offs = messages(alice, "a").map((f) => Number(header(f, "herald-offset")));
  for (let i = 1; i < offs.length; i++) assert.ok(offs[i]! > offs[i - 1]!, `offsets increase: ${offs[i - 1]} then ${offs[i]}`);
  const epochs = new Set(messages(alice, "a").map((f) => header(f, "herald-epoch")));
  assert.equal(epochs.size, 1, "AOF kept the stream: one epoch across the restart");
});
