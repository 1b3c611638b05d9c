import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisCluster, type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { keySlot } from "@herald/redis";
import { bodyOf, errorsOf, frameText, header, offsets, quietFor, receiptFrame, stompAs, subscribe, waitForMessages } from "./delivery-helpers.js";

/**
 * Transactions on Redis Cluster: a COMMIT is one MULTI/EXEC, which runs on one hash slot. A
 * transaction whose destinations share a slot (in practice: one destination) commits; one that
 * spans slots is refused with an ERROR and publishes nothing.
 */
let cluster: RedisCluster;
let edge: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  cluster = await RedisCluster.start();
  edge = await HeraldProcess.start({ env: { REDIS_URL: cluster.url, HERALD_ROLES: "edge", HERALD_INSECURE_LOGIN_AS_USER: "true" } });
});

after(async () => {
  for (const c of clients) c.close();
  await edge.stop("SIGKILL");
  await cluster.dispose();
});

async function client(login: string): Promise<RawStomp> {
  const c = await stompAs(edge.wsUrl, login);
  clients.push(c);
  return c;
}

function transaction(c: RawStomp, tx: string, sends: Array<[string, string]>): string {
  c.send(frameText("BEGIN", { transaction: tx }));
  for (const [destination, body] of sends) c.send(frameText("SEND", { destination, transaction: tx }, body));
  c.send(frameText("COMMIT", { transaction: tx, receipt: `commit-${tx}` }));
  return `commit-${tx}`;
}

test("on Redis Cluster a transaction within one hash slot commits: SENDs to one destination, or to destinations that share a slot", async () => {
  const watcher = await client("sam");
  await subscribe(watcher, "u", "/user/queue/orders");
  // A topic whose bus channel happens to hash to the slot of sam's queue: the check is by slot, not by name.
  const slot = keySlot("herald:bus:/user/sam/queue/orders");
  let i = 0;
  while (keySlot(`herald:bus:/topic/same-slot-${i}`) !== slot) i++;
  const topic = `/topic/same-slot-${i}`;
  await subscribe(watcher, "t", topic);
  const sender = await client("sam");
  await receiptFrame(sender, transaction(sender, "t1", [["/user/queue/orders", "o1"], ["/user/queue/orders", "o2"], ["/user/queue/orders", "o3"]]), 15_000);
  const mine = await waitForMessages(watcher, "u", 3);
  assert.deepEqual(mine.map(bodyOf), ["o1", "o2", "o3"]);
  assert.deepEqual(offsets(mine), [1, 2, 3], "kept in history, in the same MULTI");
  await receiptFrame(sender, transaction(sender, "t2", [[topic, "t1"], ["/user/queue/orders", "o4"]]), 15_000);
  const [onTopic, more] = await Promise.all([waitForMessages(watcher, "t", 1), waitForMessages(watcher, "u", 4)]);
  assert.deepEqual(onTopic.map(bodyOf), ["t1"]);
  assert.equal(bodyOf(more[3]!), "o4");
  assert.equal(errorsOf(sender), "");
});

test("on Redis Cluster a transaction spanning hash slots is refused with an ERROR that says so, and nothing is delivered", async () => {
  const watcher = await client("tom");
  await subscribe(watcher, "a", "/topic/spread-a");
  await subscribe(watcher, "u", "/user/queue/spread-b");
  const sender = await client("tom");
  transaction(sender, "t2", [["/topic/spread-a", "a1"], ["/user/queue/spread-b", "b1"]]);
  await sender.until(() => sender.closeCode !== undefined, 10_000, "the connection to close with an ERROR");
  const error = sender.frames.find((f) => f.command === "ERROR");
  assert.ok(error, "an ERROR frame");
  assert.equal(header(error, "message"), "transaction failed");
  assert.match(bodyOf(error), /transaction "t2" was not committed and nothing of it was applied .*must share a hash slot: "\/topic\/spread-a" is in slot \d+, "\/user\/tom\/queue\/spread-b" in slot \d+/);
  assert.equal(await quietFor(watcher, "a", 300), 0);
  assert.equal(await quietFor(watcher, "u", 0), 0);
});
