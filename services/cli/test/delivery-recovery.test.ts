import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisServer, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { RedisHistory } from "@herald/history";
import { userBusDestination, type BusMessage } from "@herald/bus";
import { bodyOf, frameText, header, messages, offsets, quietFor, range, stompAs, subscribe, waitFor, waitForMessages } from "./delivery-helpers.js";

/**
 * Recovery against real Redis and real edge processes: a client that loses its node, a user who
 * was offline, a node whose bus connection drops. Messages are published the way the worker
 * publishes them (RedisHistory: XADD + PUBLISH in one script) from this process.
 */
let redis: RedisServer;
let admin: Redis;
let publisher: RedisHistory;
const nodes = new Map<string, HeraldProcess>();
const clients: RawStomp[] = [];
const USER_HISTORY = { maxMessages: 20_000, ttlSeconds: 600 };

async function startNode(id: string, extra: Record<string, string> = {}): Promise<HeraldProcess> {
  const env = {
    ...extra,
    REDIS_URL: redis.url,
    HERALD_ROLES: "edge",
    HERALD_INSECURE_LOGIN_AS_USER: "true",
    HERALD_NODE_ID: id,
    HERALD_HISTORY_USER_MAX: String(USER_HISTORY.maxMessages),
    HERALD_RECOVERY_MAX: "20000",
  };
  const n = await HeraldProcess.start({ env });
  nodes.set(id, n);
  return n;
}

async function client(node: HeraldProcess, login: string): Promise<RawStomp> {
  const c = await stompAs(node.wsUrl, login);
  clients.push(c);
  return c;
}

async function busReceived(node: HeraldProcess): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const m = /^herald_bus_received_total (\d+)/m.exec(text);
  assert.ok(m, "herald_bus_received_total in /metrics");
  return Number(m[1]);
}

let seq = 0;
function notification(user: string, destination: string, body: string): BusMessage {
  return { destination: userBusDestination(user, destination), id: `t-${++seq}`, headers: {}, contentType: "text/plain", body: Buffer.from(body), publishedAt: Date.now() };
}

/** Publishes `count` notifications in pipelined batches (order is kept: one connection, one script per message). */
async function publishMany(user: string, destination: string, count: number, label: string, padding = 0): Promise<void> {
  const pad = padding > 0 ? ` ${"x".repeat(padding)}` : "";
  for (let i = 0; i < count; i += 500) {
    const batch: Array<Promise<unknown>> = [];
    for (let k = i; k < Math.min(count, i + 500); k++) batch.push(publisher.publish(notification(user, destination, `${label}-${k}${pad}`), USER_HISTORY));
    await Promise.all(batch);
  }
}

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.port, "127.0.0.1");
  publisher = new RedisHistory({ redisUrl: redis.url, name: "test-publisher" });
  await Promise.all(["a", "b", "c"].map((id) => startNode(id)));
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([...nodes.values()].map((n) => n.stop("SIGKILL")));
  await publisher.close();
  admin.disconnect();
  await redis.dispose();
});

test("edge node SIGKILLed while 10,000 messages are published: resubscribing elsewhere with the last position gets every message once, in order", { timeout: 90_000 }, async () => {
  const doomed = nodes.get("c")!;
  const first = await client(doomed, "alice");
  await subscribe(first, "s1", "/user/queue/orders");
  await publishMany("alice", "/queue/orders", 200, "before");
  const seen = await waitForMessages(first, "s1", 200);
  assert.deepEqual(offsets(seen), range(1, 200));
  const epoch = header(seen[0]!, "herald-epoch")!;
  assert.ok(epoch, "MESSAGE carries herald-epoch");
  assert.ok(seen.every((f) => header(f, "herald-epoch") === epoch));

  await doomed.kill();
  await publishMany("alice", "/queue/orders", 10_000, "while-away");

  const again = await client(nodes.get("a")!, "alice");
  const receipt = subscribe(again, "s1", "/user/queue/orders", { "herald-since-offset": "200", "herald-since-epoch": epoch }, 60_000);
  // Live traffic during the replay: the seam must neither lose nor repeat these.
  await publishMany("alice", "/queue/orders", 500, "during");
  assert.equal(header(await receipt, "herald-recovered"), "complete");
  const got = await waitForMessages(again, "s1", 10_500, 60_000);
  assert.deepEqual(offsets(got), range(201, 10_700), "every message after 200 exactly once, in order");
  assert.equal(header(got[0]!, "herald-recovered"), "complete", "the first frame says the recovery was complete");
  assert.equal(header(got[1]!, "herald-recovered"), undefined);
  assert.equal(bodyOf(got[0]!), "while-away-0");
  assert.equal(bodyOf(got[10_499]!), "during-499");
  assert.equal(await quietFor(again, "s1", 300), 0, "nothing after the last message");
  nodes.delete("c");
});

test("a client that stops reading is closed as a slow consumer; resubscribing with its last position on another node gets the rest exactly once, in order", { timeout: 60_000 }, async () => {
  const slowNode = await startNode("slow", { HERALD_MAX_OUTBOUND_BYTES: "64KiB" });
  const c = await client(slowNode, "zed");
  await subscribe(c, "z", "/user/queue/stream");
  await publishMany("zed", "/queue/stream", 1, "first");
  const [firstFrame] = await waitForMessages(c, "z", 1);
  const epoch = header(firstFrame!, "herald-epoch")!;
  c.ws.pause();
  // 2 KiB each: 20 MB, more than the kernel's socket buffers hold, so the node's own queue grows.
  await publishMany("zed", "/queue/stream", 10_000, "flood", 2048);
  await new Promise((r) => setTimeout(r, 1500));
  c.ws.resume();
  await c.whenClosed(10_000);
  const before = messages(c, "z");
  assert.ok(before.length < 10_001, "the server gave up on the client before sending everything");
  assert.deepEqual(offsets(before), range(1, before.length));

  const again = await client(nodes.get("a")!, "zed");
  const r = await subscribe(again, "z", "/user/queue/stream", { "herald-since-offset": String(before.length), "herald-since-epoch": epoch }, 30_000);
  assert.equal(header(r, "herald-recovered"), "complete");
  const rest = await waitForMessages(again, "z", 10_001 - before.length, 30_000);
  assert.deepEqual([...offsets(before), ...offsets(rest)], range(1, 10_001));
  assert.equal(await quietFor(again, "z", 300), 0);
});

test("a position that history no longer holds, or of another epoch, is answered with what remains and says so", async () => {
  const c = await client(nodes.get("b")!, "carol");
  await publishMany("carol", "/queue/x", 3, "m");
  const r = await subscribe(c, "s", "/user/queue/x", { "herald-since-offset": "1", "herald-since-epoch": "not-the-epoch" });
  assert.equal(header(r, "herald-recovered"), "epoch-changed");
  const got = await waitForMessages(c, "s", 3);
  assert.deepEqual(offsets(got), [1, 2, 3], "the current stream is replayed from its start");
  assert.equal(header(got[0]!, "herald-recovered"), "epoch-changed");
});

test("offline user: notifications wait in history and arrive, in order, when a session subscribes; the next session gets only what is new", async () => {
  await publishMany("dave", "/queue/notifications", 5, "offline");
  const s1 = await client(nodes.get("a")!, "dave");
  await subscribe(s1, "n", "/user/queue/notifications");
  const got = await waitForMessages(s1, "n", 5);
  assert.deepEqual(got.map(bodyOf), range(0, 4).map((i) => `offline-${i}`));
  assert.deepEqual(offsets(got), [1, 2, 3, 4, 5]);
  s1.close();
  await waitFor(async () => (await admin.hget("herald:cursors:{dave}", "/user/dave/queue/notifications|"))?.endsWith(":5"), { what: "dave's cursor at 5" });

  await publishMany("dave", "/queue/notifications", 2, "later");
  const s2 = await client(nodes.get("b")!, "dave");
  await subscribe(s2, "n", "/user/queue/notifications");
  const next = await waitForMessages(s2, "n", 2);
  assert.deepEqual(next.map(bodyOf), ["later-0", "later-1"]);
  assert.equal(await quietFor(s2, "n", 300), 0, "what dave already received is not sent again");
});

test("a node whose bus connection drops re-reads what it missed from history: in order, no gap, no duplicate", { timeout: 30_000 }, async () => {
  const node = nodes.get("b")!;
  const c = await client(node, "erin");
  await subscribe(c, "s", "/user/queue/feed");
  await publishMany("erin", "/queue/feed", 10, "warm");
  await waitForMessages(c, "s", 10);
  const receivedBefore = await busReceived(node);
  // Cut node b's subscriber connection to Redis, then publish while it reconnects.
  const list = (await admin.call("CLIENT", "LIST")) as string;
  const sub = list.split("\n").find((l) => l.includes("name=herald:b:bus-sub"));
  assert.ok(sub, `node b's bus subscriber connection in CLIENT LIST:\n${list}`);
  const id = /id=(\d+)/.exec(sub)![1]!;
  await admin.call("CLIENT", "KILL", "ID", id);
  await publishMany("erin", "/queue/feed", 300, "cut");
  await publishMany("erin", "/queue/feed", 20, "after");
  const got = await waitForMessages(c, "s", 330, 15_000);
  assert.deepEqual(offsets(got), range(1, 330));
  assert.equal(await quietFor(c, "s", 300), 0);
  // The messages published while the subscriber was gone never came over pub/sub: history supplied them.
  const received = (await busReceived(node)) - receivedBefore;
  assert.ok(received < 320, `node b received only ${received} of 320 over pub/sub, the rest from history`);
});

test("SUBSCRIBE with a position on a destination without history is refused with a clear ERROR", async () => {
  const c = await client(nodes.get("a")!, "frank");
  c.send(frameText("SUBSCRIBE", { id: "t", destination: "/topic/plain", "herald-since-offset": "3", "herald-since-epoch": "e" }));
  const f = await c.next();
  assert.equal(f.command, "ERROR");
  assert.match(Buffer.from(f.body).toString(), /keeps no history/);
  assert.equal(messages(c, "t").length, 0);
});
