import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RedisServer, waitFor, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { nowSec, signJwt } from "./security-helpers.js";
import { bodyOf, errorsOf, frameText, header, messages, offsets, quietFor, receiptFrame, subscribe, waitForMessages } from "./delivery-helpers.js";
import { RawStomp as Raw } from "@herald/testkit";

// Durable state (cursors, history streams) against a real Redis and two edge nodes:
// an anonymous client-id can never reach a user's durable subscription, and a subscriber
// alone (SUBSCRIBE/UNSUBSCRIBE churn) leaves nothing lasting in Redis, while a subscriber
// that subscribes before a stream exists still gets everything published after it.
const SECRET = randomBytes(32).toString("hex");
let redis: RedisServer;
let admin: Redis;
let a: HeraldProcess;
let b: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.port, "127.0.0.1");
  const env = {
    REDIS_URL: redis.url,
    HERALD_JWT_SECRET: SECRET,
    HERALD_ALLOW_ANONYMOUS: "true",
    HERALD_HISTORY_TOPICS: "/topic/durable/**:100:600,/topic/brief/**:100:2",
    HERALD_CURSOR_FLUSH_MS: "20",
    HERALD_SUBSCRIBE_RATE: "100000",
    HERALD_SUBSCRIBE_BURST: "100000",
  };
  [a, b] = await Promise.all([
    HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "a" } }),
    HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "b", HERALD_ROLES: "edge" } }),
  ]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([a?.stop("SIGKILL"), b?.stop("SIGKILL")]);
  admin?.disconnect();
  await redis?.dispose();
});

async function as(node: HeraldProcess, user: string | undefined, extra: Record<string, string> = {}): Promise<RawStomp> {
  const c = await Raw.connected(node.wsUrl, { ...(user ? { passcode: await signJwt({ sub: user, exp: nowSec() + 600 }, SECRET) } : {}), ...extra });
  clients.push(c);
  return c;
}

/** SENDs with a receipt on the last one: resolves once all are published (and in history). */
async function send(c: RawStomp, destination: string, bodies: string[]): Promise<void> {
  const receipt = `send-${Math.random().toString(36).slice(2)}`;
  bodies.forEach((body, i) => c.send(frameText("SEND", { destination, ...(i === bodies.length - 1 ? { receipt } : {}) }, body)));
  await receiptFrame(c, receipt);
}

async function notify(user: string, destination: string, body: string): Promise<void> {
  const r = await fetch(`${a.httpUrl}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, destination, body }) });
  assert.equal(r.status, 202);
}

test("an anonymous client that says client-id:alice gets nothing of user alice's durable subscription, which alice still finds intact", async () => {
  const publisher = await as(a, "publisher");
  const sub = { ack: "client-individual", "durable-name": "orders" };
  const alice = await as(a, "alice");
  await subscribe(alice, "s", "/topic/durable/orders", sub);
  await send(publisher, "/topic/durable/orders", ["o1"]);
  const [o1] = await waitForMessages(alice, "s", 1);
  alice.send(frameText("ACK", { id: header(o1!, "ack")!, receipt: "acked" }));
  await receiptFrame(alice, "acked");
  await waitFor(async () => (await admin.hget("herald:cursors:{alice}", "/topic/durable/orders|orders"))?.endsWith(":1"), { what: "alice's cursor" });
  alice.close();
  await send(publisher, "/topic/durable/orders", ["o2", "o3"]);

  for (const node of [a, b]) {
    const mallory = await as(node, undefined, { "client-id": "alice" });
    await subscribe(mallory, "s", "/topic/durable/orders", { "durable-name": "orders" });
    assert.equal(await quietFor(mallory, "s", 400), 0, `the client-id on node ${node === a ? "a" : "b"} got alice's messages`);
    mallory.close();
  }
  const back = await as(b, "alice");
  await subscribe(back, "s", "/topic/durable/orders", sub);
  const missed = await waitForMessages(back, "s", 2);
  assert.deepEqual(missed.map(bodyOf), ["o2", "o3"]);
  assert.equal(await admin.exists("herald:cursors:client-id:{alice}"), 0, "the client-id acknowledged nothing, so it has no cursor");
});

describe("a subscriber alone leaves nothing lasting", () => {
  test("SUBSCRIBE/UNSUBSCRIBE churn over new user destinations and new durable-names: Redis's key count stays flat", async () => {
    const publisher = await as(a, "publisher");
    await send(publisher, "/topic/durable/existing", ["already there"]);
    const churner = await as(b, "churner");
    const before = await admin.dbsize();
    const n = 1500;
    const frames: string[] = [];
    for (let i = 0; i < n; i++) {
      for (const [destination, extra] of [
        [`/user/queue/churn-${i}`, {}],
        [`/topic/durable/churn-${i}`, { "durable-name": `n${i}` }],
        ["/topic/durable/existing", { "durable-name": `name-${i}` }],
      ] as const) {
        frames.push(frameText("SUBSCRIBE", { id: "c", destination, ...extra }), frameText("UNSUBSCRIBE", { id: "c" }));
      }
    }
    for (let i = 0; i < frames.length; i += 300) churner.send(frames.slice(i, i + 300).join(""));
    churner.send(frameText("DISCONNECT", { receipt: "bye" }));
    await receiptFrame(churner, "bye", 60_000);
    assert.equal(errorsOf(churner), "");
    await new Promise((r) => setTimeout(r, 300));
    const keys = await admin.keys("*");
    // At most the churner's starts (one hash, capped), no history stream, no cursor.
    assert.ok((await admin.dbsize()) <= before + 1, `keys grew from ${before}: ${keys.filter((k) => k.includes("churn")).slice(0, 5).join(", ")}`);
    assert.equal(keys.filter((k) => k.startsWith("herald:history:") && k.includes("churn")).length, 0);
    assert.equal(await admin.exists("herald:cursors:{churner}"), 0);
    assert.ok((await admin.hlen("herald:cursors:{churner}:starts")) <= 1000, "starts are capped per owner");
  });

  test("the start of a durable subscription that nothing reached expires with its destination's history TTL", async () => {
    const quiet = await as(a, "quiet");
    await subscribe(quiet, "q", "/topic/brief/nothing-yet", { "durable-name": "q" });
    quiet.close();
    assert.equal(await admin.exists("herald:cursors:{quiet}:starts"), 1);
    await waitFor(async () => (await admin.exists("herald:cursors:{quiet}:starts")) === 0, { what: "the start to expire", timeoutMs: 5000 });
  });
});

describe("subscribing before a stream exists still recovers everything published after it", () => {
  test("a durable topic subscription that left before the first publish gets every message when it comes back (on another node)", async () => {
    const publisher = await as(a, "publisher");
    const early = await as(a, "early");
    await subscribe(early, "e", "/topic/durable/not-yet", { "durable-name": "e", ack: "client-individual" });
    early.close();
    await send(publisher, "/topic/durable/not-yet", ["n1", "n2"]);
    const back = await as(b, "early");
    await subscribe(back, "e", "/topic/durable/not-yet", { "durable-name": "e", ack: "client-individual" });
    const got = await waitForMessages(back, "e", 2);
    assert.deepEqual(got.map(bodyOf), ["n1", "n2"]);
    assert.deepEqual(offsets(got), [1, 2]);
  });

  test("a user destination that had no stream: what arrived while the user was away comes on the next subscription", async () => {
    const first = await as(b, "ulla");
    await subscribe(first, "u", "/user/queue/fresh");
    first.close();
    await notify("ulla", "/queue/fresh", "while away");
    const again = await as(a, "ulla");
    await subscribe(again, "u", "/user/queue/fresh");
    const [m] = await waitForMessages(again, "u", 1);
    assert.equal(bodyOf(m!), "while away");
  });

  test("a live subscriber of a new stream gets its first message, and later recovers from that position", async () => {
    const publisher = await as(a, "publisher");
    const live = await as(b, "lee");
    await subscribe(live, "l", "/topic/durable/brand-new");
    await send(publisher, "/topic/durable/brand-new", ["b1"]);
    const [b1] = await waitForMessages(live, "l", 1);
    assert.equal(header(b1!, "herald-offset"), "1");
    live.close();
    await send(publisher, "/topic/durable/brand-new", ["b2", "b3"]);
    const again = await as(a, "lee");
    await subscribe(again, "l", "/topic/durable/brand-new", { "herald-since-offset": "1", "herald-since-epoch": header(b1!, "herald-epoch")! });
    const got = await waitForMessages(again, "l", 2);
    assert.deepEqual(got.map(bodyOf), ["b2", "b3"]);
    assert.equal(header(got[0]!, "herald-recovered"), "complete");
    assert.equal(messages(again, "l").length, 2);
  });
});
