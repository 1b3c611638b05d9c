import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisServer, connectStomp, Inbox, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import type { Client } from "@stomp/stompjs";

let redis: RedisServer;
let nodes: HeraldProcess[];
let admin: Redis;
const clients: Client[] = [];

async function client(node: HeraldProcess, login?: string): Promise<Client> {
  const c = await connectStomp(node.wsUrl, login ? { connectHeaders: { login } } : {});
  clients.push(c);
  return c;
}

/** SUBSCRIBE with a receipt, so the subscription is in place (and on Redis) when it resolves. */
function subscribed(c: Client, destination: string, inbox: Inbox): Promise<void> {
  const receipt = `sub-${Math.random()}`;
  return new Promise((resolve) => {
    c.watchForReceipt(receipt, () => resolve());
    c.subscribe(destination, inbox.push, { receipt });
  });
}

async function metric(node: HeraldProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.port, "127.0.0.1");
  const env = { REDIS_URL: redis.url, HERALD_ROLES: "edge", HERALD_INSECURE_LOGIN_AS_USER: "true" };
  nodes = await Promise.all(["a", "b", "c"].map((id) => HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: id } })));
});

after(async () => {
  await Promise.all(clients.map((c) => c.deactivate().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.stop()));
  admin.disconnect();
  await redis.dispose();
});

test("a client on node A receives a SEND made on node C; node B, with no subscriber, receives nothing", async () => {
  const [a, , c] = nodes as [HeraldProcess, HeraldProcess, HeraldProcess];
  const onA = new Inbox();
  await subscribed(await client(a), "/topic/x", onA);
  const receivedBefore = await metric(nodes[1]!, "herald_bus_received_total");
  const sender = await client(c);
  for (let i = 0; i < 5; i++) sender.publish({ destination: "/topic/x", body: `m${i}` });
  const got = await onA.waitFor(5);
  assert.deepEqual(got.map((m) => m.body), ["m0", "m1", "m2", "m3", "m4"]);
  // Exactly one node (A) is subscribed on Redis; B never saw the traffic.
  const [, count] = (await admin.call("PUBSUB", "NUMSUB", "herald:bus:/topic/x")) as [string, number];
  assert.equal(Number(count), 1);
  assert.equal(await metric(nodes[1]!, "herald_bus_received_total"), receivedBefore);
  assert.equal(await metric(nodes[1]!, "herald_destinations"), 0);
});

test("a node unsubscribes from Redis when its last local subscriber leaves", async () => {
  const b = nodes[1]!;
  const c1 = await client(b);
  const c2 = await client(b);
  const i1 = new Inbox();
  const i2 = new Inbox();
  await subscribed(c1, "/topic/refcount", i1);
  await subscribed(c2, "/topic/refcount", i2);
  const numsub = async () => Number(((await admin.call("PUBSUB", "NUMSUB", "herald:bus:/topic/refcount")) as [string, number])[1]);
  assert.equal(await numsub(), 1, "two local subscribers, one Redis subscription");
  await c1.deactivate();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await numsub(), 1, "one local subscriber left");
  await c2.deactivate();
  await waitFor(async () => (await numsub()) === 0, { what: "Redis unsubscribe after the last local subscriber left" });
});

test("user destinations reach every session of the user on every node, and nobody else", async () => {
  const [a, b, c] = nodes as [HeraldProcess, HeraldProcess, HeraldProcess];
  const aliceA = new Inbox();
  const aliceB = new Inbox();
  const bob = new Inbox();
  const anon = new Inbox();
  await subscribed(await client(a, "alice"), "/user/queue/notifications", aliceA);
  await subscribed(await client(b, "alice"), "/user/queue/notifications", aliceB);
  await subscribed(await client(c, "bob"), "/user/queue/notifications", bob);
  await subscribed(await client(c), "/topic/notifications", anon);
  const res = await fetch(`${c.httpUrl}/v1/notifications`, { method: "POST" }).catch(() => undefined);
  assert.ok(res === undefined || res.status === 404, "edge-only nodes do not serve the API");
  // A handler-less way to reach alice's queue from any node: a SEND by alice to her own user queue.
  const alice = await client(c, "alice");
  alice.publish({ destination: "/user/queue/notifications", body: "for alice" });
  const [m1] = await aliceA.waitFor(1);
  const [m2] = await aliceB.waitFor(1);
  assert.equal(m1!.body, "for alice");
  assert.equal(m2!.body, "for alice");
  assert.equal(m1!.headers["destination"], "/user/queue/notifications");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(bob.messages.length, 0, "bob got nothing of alice's");
  assert.equal(anon.messages.length, 0);
});

test("Redis killed and restarted under live connections: local fan-out continues, publishes fail fast, cross-node delivery is back within 5 s", async () => {
  const [a, b, c] = nodes as [HeraldProcess, HeraldProcess, HeraldProcess];
  const onA = new Inbox();
  const localOnB = new Inbox();
  await subscribed(await client(a), "/topic/fault", onA);
  await subscribed(await client(b), "/topic/local", localOnB);

  await redis.kill();
  await waitFor(async () => (await fetch(`${a.httpUrl}/readyz`)).status === 503, { what: "readyz not ready while Redis is down" });
  // A SEND while Redis is down still reaches the node's own subscribers, and the
  // sender learns at once (an ERROR naming Redis) that other nodes did not get it.
  const senderB = await client(b);
  const t0 = Date.now();
  const failed = new Promise<string>((resolve) => (senderB.onStompError = (f) => resolve(`${f.headers["message"]} ${f.body}`)));
  senderB.publish({ destination: "/topic/local", body: "during outage", headers: { receipt: "r" } });
  assert.match(await failed, /Redis/i);
  assert.ok(Date.now() - t0 < 1000, "the publish failed fast");
  const [local] = await localOnB.waitFor(1);
  assert.equal(local!.body, "during outage");

  await redis.restart();
  const restartedAt = Date.now();
  await waitFor(async () => (await Promise.all(nodes.map(async (n) => (await fetch(`${n.httpUrl}/readyz`)).status))).every((s) => s === 200), {
    timeoutMs: 5000,
    what: "every node ready again",
  });
  const sender = await client(c);
  sender.publish({ destination: "/topic/fault", body: "back" });
  await onA.waitFor(1, 5000 - (Date.now() - restartedAt));
  assert.equal(onA.messages[0]!.body, "back");
  assert.ok(Date.now() - restartedAt < 5000, `took ${Date.now() - restartedAt} ms`);
  assert.ok((await metric(a, 'herald_redis_transitions_total\\{state="down"\\}')) >= 1);
});
