import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisServer, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { RedisHistory } from "@herald/history";
import { userBusDestination } from "@herald/bus";
import { bodyOf, errorsOf, frameText, header, messages, offsets, quietFor, receiptFrame, stompAs, subscribe, waitFor, waitForMessages } from "./delivery-helpers.js";

/**
 * Acknowledgements, NACK and dead letters, transactions and receipts, against real Redis and two
 * edge processes: a client that comes back (to either node) finds its durable subscription where
 * its acknowledgements left it.
 */
let redis: RedisServer;
let admin: Redis;
let history: RedisHistory;
let a: HeraldProcess;
let b: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.port, "127.0.0.1");
  history = new RedisHistory({ redisUrl: redis.url, name: "test-reader" });
  const env = {
    REDIS_URL: redis.url,
    HERALD_ROLES: "edge",
    HERALD_INSECURE_LOGIN_AS_USER: "true",
    HERALD_HISTORY_TOPICS: "/topic/durable/**:100:600",
    HERALD_MAX_REDELIVERIES: "3",
    HERALD_CURSOR_FLUSH_MS: "20",
  };
  [a, b] = await Promise.all([HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "a" } }), HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "b" } })]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([a.stop("SIGKILL"), b.stop("SIGKILL")]);
  await history.close();
  admin.disconnect();
  await redis.dispose();
});

async function client(node: HeraldProcess, login: string, extra: Record<string, string> = {}): Promise<RawStomp> {
  const c = await stompAs(node.wsUrl, login, extra);
  clients.push(c);
  return c;
}

/** SENDs with a receipt on the last one: resolves when all are published (and in history). */
async function send(c: RawStomp, destination: string, bodies: string[], headers: Record<string, string> = {}): Promise<void> {
  const receipt = `send-${Math.random().toString(36).slice(2)}`;
  bodies.forEach((body, i) => c.send(frameText("SEND", { destination, "content-type": "text/plain", ...headers, ...(i === bodies.length - 1 ? { receipt } : {}) }, body)));
  await receiptFrame(c, receipt);
}

let seq = 0;
/** Publishes to a user's queue as the worker does (history + bus in one script): users may only SEND to their own queues. */
async function notify(user: string, destination: string, bodies: string[], headers: Record<string, string> = {}): Promise<void> {
  for (const body of bodies) {
    await history.publish(
      { destination: userBusDestination(user, destination), id: `n-${++seq}`, headers, contentType: "text/plain", body: Buffer.from(body), publishedAt: Date.now() },
      { maxMessages: 1000, ttlSeconds: 86_400 },
    );
  }
}

function ack(c: RawStomp, f: ReturnType<typeof messages>[number], extra: Record<string, string> = {}, command: "ACK" | "NACK" = "ACK"): void {
  const id = header(f, "ack");
  assert.ok(id, "MESSAGE of a client-ack subscription carries an ack header");
  c.send(frameText(command, { id, ...extra }));
}

/** The stored cursor of a durable subscription, "<epoch>:<offset>[:<acked…>]"; a CONNECT client-id owns keys of its own. */
function cursor(owner: string, field: string): Promise<string | null> {
  return admin.hget(owner.startsWith("client-id:") ? `herald:cursors:client-id:{${owner.slice("client-id:".length)}}` : `herald:cursors:{${owner}}`, field);
}

async function cursorReaches(owner: string, field: string, pattern: RegExp): Promise<void> {
  await waitFor(async () => pattern.test((await cursor(owner, field)) ?? ""), { what: `cursor ${owner} ${field} to match ${pattern}`, timeoutMs: 5000 });
}

test("client-individual: acknowledged messages never come back, unacknowledged ones do on the next subscription (other node)", async () => {
  const first = await client(a, "gina");
  const sub = { ack: "client-individual", "durable-name": "jobs" };
  await subscribe(first, "s", "/user/queue/jobs", sub);
  await notify("gina", "/queue/jobs", ["j1", "j2", "j3", "j4", "j5"]);
  const got = await waitForMessages(first, "s", 5);
  assert.deepEqual(got.map(bodyOf), ["j1", "j2", "j3", "j4", "j5"]);
  for (const i of [0, 1, 3]) ack(first, got[i]!);
  await cursorReaches("gina", "/user/gina/queue/jobs|jobs", /:2:4$/);
  first.close();

  const second = await client(b, "gina");
  await subscribe(second, "s", "/user/queue/jobs", sub);
  const again = await waitForMessages(second, "s", 2);
  assert.deepEqual(again.map(bodyOf), ["j3", "j5"], "only the unacknowledged messages, in order");
  assert.equal(await quietFor(second, "s", 300), 0);
  for (const f of again) ack(second, f);
  await cursorReaches("gina", "/user/gina/queue/jobs|jobs", /:5$/);
  second.close();

  const third = await client(a, "gina");
  await subscribe(third, "s", "/user/queue/jobs", sub);
  assert.equal(await quietFor(third, "s", 400), 0, "everything was acknowledged");
});

test("ack:client is cumulative: ACK of the third message settles the first three", async () => {
  const first = await client(a, "hal");
  await subscribe(first, "s", "/user/queue/inbox", { ack: "client" });
  await notify("hal", "/queue/inbox", ["h1", "h2", "h3", "h4", "h5"]);
  const got = await waitForMessages(first, "s", 5);
  ack(first, got[2]!);
  // A user queue without durable-name is durable under the user's default cursor.
  await cursorReaches("hal", "/user/hal/queue/inbox|", /:3$/);
  first.close();
  const second = await client(b, "hal");
  await subscribe(second, "s", "/user/queue/inbox", { ack: "client" });
  const again = await waitForMessages(second, "s", 2);
  assert.deepEqual(again.map(bodyOf), ["h4", "h5"]);
  assert.equal(await quietFor(second, "s", 300), 0);
});

test("ActiveMQ style: CONNECT client-id + activemq.subscriptionName on a topic with history keeps what was missed and what was not acknowledged", async () => {
  const sender = await client(b, "sender");
  const headers = { ack: "client-individual", "activemq.subscriptionName": "prices" };
  const first = await client(a, "", { "client-id": "terminal-7" });
  await subscribe(first, "p", "/topic/durable/prices", headers);
  await send(sender, "/topic/durable/prices", ["p1", "p2", "p3"]);
  const got = await waitForMessages(first, "p", 3);
  ack(first, got[0]!);
  await cursorReaches("client-id:terminal-7", "/topic/durable/prices|prices", /:1$/);
  first.close();
  await send(sender, "/topic/durable/prices", ["p4", "p5"]);

  const second = await client(b, "", { "client-id": "terminal-7" });
  await subscribe(second, "p", "/topic/durable/prices", headers);
  const again = await waitForMessages(second, "p", 4);
  assert.deepEqual(again.map(bodyOf), ["p2", "p3", "p4", "p5"]);
  assert.deepEqual(offsets(again), [2, 3, 4, 5]);
});

test("activemq.subscriptionName without a client-id is refused with a clear ERROR", async () => {
  const c = await client(a, "");
  c.send(frameText("SUBSCRIBE", { id: "x", destination: "/topic/durable/prices", ack: "client", "activemq.subscriptionName": "n" }));
  const f = await c.next();
  assert.equal(f.command, "ERROR");
  assert.match(Buffer.from(f.body).toString(), /client-id/);
});

test("NACK redelivers with herald-redelivery-count up to the limit, then the message goes to the dead-letter destination", async () => {
  const ops = await client(b, "ops");
  await subscribe(ops, "dlq", "/queue/dlq/user/ivan/queue/work");
  const worker = await client(a, "ivan");
  await subscribe(worker, "w", "/user/queue/work", { ack: "client-individual" });
  await notify("ivan", "/queue/work", ["poison", "fine"], { "x-job": "7" });
  let got = await waitForMessages(worker, "w", 2);
  ack(worker, got[1]!);
  ack(worker, got[0]!, {}, "NACK");
  for (let n = 1; n <= 3; n++) {
    got = await waitForMessages(worker, "w", 2 + n);
    const again = got[1 + n]!;
    assert.equal(bodyOf(again), "poison");
    assert.equal(header(again, "herald-redelivery-count"), String(n));
    assert.equal(header(again, "herald-offset"), "1");
    ack(worker, again, {}, "NACK");
  }
  const [dead] = await waitForMessages(ops, "dlq", 1);
  assert.equal(bodyOf(dead!), "poison");
  assert.equal(header(dead!, "herald-original-destination"), "/user/ivan/queue/work");
  assert.equal(header(dead!, "herald-dead-letter-reason"), "nack-limit");
  assert.equal(header(dead!, "herald-redelivery-count"), "3");
  assert.equal(header(dead!, "x-job"), "7");
  assert.equal(await quietFor(worker, "w", 300), 0, "no fifth delivery");
  // Dead-lettered counts as settled: it does not come back to the user.
  await cursorReaches("ivan", "/user/ivan/queue/work|", /:2$/);
  worker.close();
  const back = await client(b, "ivan");
  await subscribe(back, "w", "/user/queue/work", { ack: "client-individual" });
  assert.equal(await quietFor(back, "w", 300), 0);
  // Operators can also read dead letters later from history, as a durable reader.
  const reader = await client(a, "ops");
  await subscribe(reader, "d", "/queue/dlq/user/ivan/queue/work", { "durable-name": "audit" });
  const [kept] = await waitForMessages(reader, "d", 1);
  assert.equal(bodyOf(kept!), "poison");
});

test("NACK counts live with the durable cursor: reconnecting (to another node) does not reset them, the limit still leads to the dead-letter destination", async () => {
  const ops = await client(a, "ops");
  await subscribe(ops, "dlq", "/queue/dlq/user/uma/queue/jobs");
  const nacks = "herald:cursors:{uma}:nacks:/user/uma/queue/jobs|";
  const first = await client(a, "uma");
  await subscribe(first, "w", "/user/queue/jobs", { ack: "client-individual" });
  await notify("uma", "/queue/jobs", ["poison"]);
  let got = await waitForMessages(first, "w", 1);
  ack(first, got[0]!, {}, "NACK");
  got = await waitForMessages(first, "w", 2);
  assert.equal(header(got[1]!, "herald-redelivery-count"), "1");
  ack(first, got[1]!, {}, "NACK");
  got = await waitForMessages(first, "w", 3);
  assert.equal(header(got[2]!, "herald-redelivery-count"), "2");
  assert.deepEqual(await admin.hgetall(nacks), { [`${header(got[0]!, "herald-epoch")}:1`]: "2" }, "the count is stored next to the cursor");
  assert.ok((await admin.pttl(nacks)) > 0, "with a TTL");
  first.close();

  const second = await client(b, "uma");
  await subscribe(second, "w", "/user/queue/jobs", { ack: "client-individual" });
  got = await waitForMessages(second, "w", 1);
  assert.equal(bodyOf(got[0]!), "poison");
  assert.equal(header(got[0]!, "herald-redelivery-count"), "2", "the new session knows how often it was NACKed");
  ack(second, got[0]!, {}, "NACK");
  got = await waitForMessages(second, "w", 2);
  assert.equal(header(got[1]!, "herald-redelivery-count"), "3", "counting goes on from the stored count");
  ack(second, got[1]!, {}, "NACK");
  const [dead] = await waitForMessages(ops, "dlq", 1);
  assert.equal(bodyOf(dead!), "poison");
  assert.equal(header(dead!, "herald-redelivery-count"), "3");
  assert.equal(await quietFor(second, "w", 300), 0, "no fifth delivery");
  await cursorReaches("uma", "/user/uma/queue/jobs|", /:1$/);
  await waitFor(async () => (await admin.exists(nacks)) === 0, { what: "the count of the dead-lettered message to be forgotten", timeoutMs: 5000 });
});

test("transactions: SENDs take effect only at COMMIT, all together; ABORT and disconnect discard them", async () => {
  const watcher = await client(a, "judy");
  await subscribe(watcher, "t", "/user/queue/tx");
  const tx = await client(b, "judy");
  tx.send(frameText("BEGIN", { transaction: "t1" }));
  for (const body of ["x1", "x2", "x3"]) tx.send(frameText("SEND", { destination: "/user/queue/tx", transaction: "t1" }, body));
  assert.equal(await quietFor(watcher, "t", 300), 0, "nothing before COMMIT");
  tx.send(frameText("COMMIT", { transaction: "t1", receipt: "c1" }));
  await receiptFrame(tx, "c1");
  const got = await waitForMessages(watcher, "t", 3);
  assert.deepEqual(got.map(bodyOf), ["x1", "x2", "x3"]);
  assert.deepEqual(offsets(got), [1, 2, 3]);

  tx.send(frameText("BEGIN", { transaction: "t2" }));
  tx.send(frameText("SEND", { destination: "/user/queue/tx", transaction: "t2" }, "aborted"));
  tx.send(frameText("ABORT", { transaction: "t2", receipt: "a2" }));
  await receiptFrame(tx, "a2");
  tx.send(frameText("BEGIN", { transaction: "t3" }));
  tx.send(frameText("SEND", { destination: "/user/queue/tx", transaction: "t3", receipt: "s3" }, "disconnected"));
  await receiptFrame(tx, "s3");
  tx.close();
  assert.equal(await quietFor(watcher, "t", 300), 0, "aborted and abandoned transactions publish nothing");
  assert.equal((await history.latest("/user/judy/queue/tx")).offset, 3, "and leave nothing in history");
  assert.equal(errorsOf(tx), "");
});

test("transactions: ACKs inside a transaction count only at COMMIT; ABORT leaves the messages unacknowledged", async () => {
  const sub = { ack: "client-individual", "durable-name": "tx-acks" };
  const c1 = await client(a, "kim");
  await subscribe(c1, "s", "/user/queue/work", sub);
  await notify("kim", "/queue/work", ["k1", "k2"]);
  const got = await waitForMessages(c1, "s", 2);
  c1.send(frameText("BEGIN", { transaction: "t" }));
  for (const f of got) ack(c1, f, { transaction: "t" });
  c1.send(frameText("ABORT", { transaction: "t", receipt: "ab" }));
  await receiptFrame(c1, "ab");
  c1.close();
  await new Promise((r) => setTimeout(r, 200));

  const c2 = await client(b, "kim");
  await subscribe(c2, "s", "/user/queue/work", sub);
  const again = await waitForMessages(c2, "s", 2);
  assert.deepEqual(again.map(bodyOf), ["k1", "k2"], "the aborted ACKs did not count");
  c2.send(frameText("BEGIN", { transaction: "t" }));
  for (const f of again) ack(c2, f, { transaction: "t" });
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!/:2$/.test((await cursor("kim", "/user/kim/queue/work|tx-acks")) ?? ""), "not before COMMIT");
  c2.send(frameText("COMMIT", { transaction: "t", receipt: "cm" }));
  await receiptFrame(c2, "cm");
  await cursorReaches("kim", "/user/kim/queue/work|tx-acks", /:2$/);
  c2.close();
  const c3 = await client(a, "kim");
  await subscribe(c3, "s", "/user/queue/work", sub);
  assert.equal(await quietFor(c3, "s", 300), 0);
});

test("RECEIPT means done: when the RECEIPT of a SEND arrives the message is in history", async () => {
  const c = await client(a, "leo");
  for (let i = 1; i <= 5; i++) {
    c.send(frameText("SEND", { destination: "/user/queue/receipts", receipt: `r${i}` }, `m${i}`));
    await receiptFrame(c, `r${i}`);
    const r = await history.readSince("/user/leo/queue/receipts", { offset: 0, epoch: (await history.latest("/user/leo/queue/receipts")).epoch }, 10);
    assert.equal(r.messages.length, i);
    assert.equal(Buffer.from(r.messages[i - 1]!.body).toString(), `m${i}`);
  }
});
