import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisServer, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { bodyOf, errorsOf, frameText, header, messages, offsets, quietFor, receiptFrame, stompAs, subscribe, waitFor, waitForMessages } from "./delivery-helpers.js";

/**
 * STOMP transactions against a real Redis and a real edge process: a COMMIT publishes every SEND
 * of the transaction in one atomic step (one MULTI/EXEC), or none of them; and every message
 * published to Redis is counted in herald_bus_published_total, whichever path it took.
 */
let redis: RedisServer;
let edge: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  redis = await RedisServer.start();
  edge = await HeraldProcess.start({
    env: { REDIS_URL: redis.url, HERALD_ROLES: "edge", HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_HISTORY_TOPICS: "/topic/kept/**:100:600" },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await edge.stop("SIGKILL");
  await redis.dispose();
});

async function client(login: string): Promise<RawStomp> {
  const c = await stompAs(edge.wsUrl, login);
  clients.push(c);
  return c;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${edge.httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, "m").exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

/** BEGIN, the SENDs (destination, body), COMMIT with a receipt; returns the receipt id. */
function transaction(c: RawStomp, tx: string, sends: Array<[string, string]>): string {
  c.send(frameText("BEGIN", { transaction: tx }));
  for (const [destination, body] of sends) c.send(frameText("SEND", { destination, transaction: tx, "content-type": "text/plain" }, body));
  c.send(frameText("COMMIT", { transaction: tx, receipt: `commit-${tx}` }));
  return `commit-${tx}`;
}

test("a committed transaction of SENDs across plain, kept and user destinations arrives complete, in order", async () => {
  const watcher = await client("olga");
  await subscribe(watcher, "plain", "/topic/plain");
  await subscribe(watcher, "kept", "/topic/kept/orders");
  await subscribe(watcher, "mine", "/user/queue/tx");
  const sender = await client("olga");
  const sends: Array<[string, string]> = [
    ["/topic/plain", "p1"],
    ["/topic/kept/orders", "k1"],
    ["/user/queue/tx", "u1"],
    ["/topic/plain", "p2"],
    ["/topic/kept/orders", "k2"],
    ["/user/queue/tx", "u2"],
  ];
  await receiptFrame(sender, transaction(sender, "t1", sends));
  const [plain, kept, mine] = await Promise.all([waitForMessages(watcher, "plain", 2), waitForMessages(watcher, "kept", 2), waitForMessages(watcher, "mine", 2)]);
  assert.deepEqual(plain.map(bodyOf), ["p1", "p2"]);
  assert.deepEqual(kept.map(bodyOf), ["k1", "k2"]);
  assert.deepEqual(offsets(kept), [1, 2], "kept destinations get positions");
  assert.deepEqual(mine.map(bodyOf), ["u1", "u2"]);
  assert.deepEqual(offsets(mine), [1, 2]);
  assert.equal(header(plain[0]!, "herald-offset"), undefined, "a destination without history has no position");
  assert.equal(errorsOf(sender), "");
});

test("herald_bus_published_total counts messages published through the history script and in transactions, one per message", async () => {
  const c = await client("pia");
  const before = await metric("herald_bus_published_total");
  // Kept destinations: the history script publishes them, not the bus.
  for (const [i, destination] of ["/user/queue/m", "/topic/kept/m", "/topic/plain-m"].entries()) {
    c.send(frameText("SEND", { destination, receipt: `s${i}` }, "x"));
    await receiptFrame(c, `s${i}`);
  }
  assert.equal((await metric("herald_bus_published_total")) - before, 3, "one per SEND, kept or not");
  await receiptFrame(c, transaction(c, "tm", [["/user/queue/m", "a"], ["/topic/plain-m", "b"]]));
  assert.equal((await metric("herald_bus_published_total")) - before, 5, "and one per message of a committed transaction");
  await receiptFrame(c, transaction(c, "tp", [["/topic/plain-m", "c"], ["/topic/plain-m", "d"]]));
  assert.equal((await metric("herald_bus_published_total")) - before, 7, "a transaction of plain destinations goes through the bus and is counted there");
});

test("a SEND to an application destination inside a transaction is refused with an ERROR", async () => {
  const c = await client("quinn");
  c.send(frameText("BEGIN", { transaction: "ta" }));
  c.send(frameText("SEND", { destination: "/app/sendMessage", transaction: "ta" }, "hi"));
  await c.until(() => c.closeCode !== undefined, 5000, "the connection to close");
  assert.match(errorsOf(c), /application destination in a transaction: \/app\/sendMessage is handled by the application/);
});

test("COMMIT while Redis is down: ERROR, nothing delivered, not even to this node; after Redis is back a transaction delivers everything", { timeout: 60_000 }, async () => {
  const watcher = await client("rita");
  await subscribe(watcher, "plain", "/topic/outage");
  await subscribe(watcher, "mine", "/user/queue/outage");
  const sender = await client("rita");
  sender.send(frameText("BEGIN", { transaction: "t-down" }));
  for (const [destination, body] of [["/topic/outage", "lost-1"], ["/user/queue/outage", "lost-2"], ["/topic/outage", "lost-3"]] as const) {
    sender.send(frameText("SEND", { destination, transaction: "t-down" }, body));
  }
  await redis.kill();
  await waitFor(async () => (await metric("herald_redis_up")) === 0, { timeoutMs: 10_000, what: "the edge to notice Redis is gone" });
  sender.send(frameText("COMMIT", { transaction: "t-down", receipt: "c-down" }));
  await sender.until(() => sender.closeCode !== undefined, 10_000, "the connection to close with an ERROR");
  assert.match(errorsOf(sender), /^transaction failed: transaction "t-down" was not committed and nothing of it was applied \(3 SEND\(s\), 0 ACK\/NACK\(s\)\): Redis is unavailable/);
  assert.ok(!sender.frames.some((f) => f.command === "RECEIPT" && header(f, "receipt-id") === "c-down"), "no RECEIPT for a failed COMMIT");

  await redis.restart();
  await waitFor(async () => (await fetch(`${edge.httpUrl}/readyz`)).status === 200, { timeoutMs: 20_000, what: "the edge to be ready again" });
  // The history connection reconnects on its own schedule: wait until a kept SEND goes through too.
  await waitFor(
    async () => {
      const probe = await client("rita");
      probe.send(frameText("SEND", { destination: "/user/queue/probe", receipt: "p" }, "probe"));
      return receiptFrame(probe, "p", 2000).then(() => true, () => false);
    },
    { timeoutMs: 20_000, what: "history to accept publishes again" },
  );
  const again = await client("rita");
  await receiptFrame(again, transaction(again, "t-up", [["/topic/outage", "ok-1"], ["/user/queue/outage", "ok-2"], ["/topic/outage", "ok-3"]]), 15_000);
  const [plain, mine] = await Promise.all([waitForMessages(watcher, "plain", 2, 15_000), waitForMessages(watcher, "mine", 1, 15_000)]);
  assert.deepEqual(plain.map(bodyOf), ["ok-1", "ok-3"], "nothing of the failed transaction, all of the later one");
  assert.deepEqual(mine.map(bodyOf), ["ok-2"]);
  assert.equal(await quietFor(watcher, "plain", 300), 0);
  assert.ok(![...messages(watcher, "plain"), ...messages(watcher, "mine")].some((f) => bodyOf(f).startsWith("lost")));
});
