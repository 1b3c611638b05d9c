import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisCluster, RedisServer } from "@herald/testkit";
import { BatchRefusedError, CrossSlotError, LocalBus, RedisBus, whenBusUp, type Bus } from "../src/index.js";
import { Recorder, msg, sleep, twoBuses } from "./helpers.js";

/** publishAll: a transaction's messages, all or none (one MULTI/EXEC on Redis). */

const text = (m: { body: Uint8Array }) => Buffer.from(m.body).toString("utf8");

/** Subscribes and waits until a probe published on `via` arrives, so the subscription is in effect. */
async function subscribed(bus: Bus, rec: Recorder, via: Bus, destination: string): Promise<void> {
  bus.subscribe(destination);
  for (let i = 0; i < 200; i++) {
    await via.publish(msg(destination, "probe"));
    await sleep(20);
    if (rec.on(destination).some((m) => text(m) === "probe")) {
      rec.messages.length = 0;
      return;
    }
  }
  throw new Error(`subscription to ${destination} never took effect`);
}

test("RedisBus.publishAll: every message reaches other nodes and this node's own subscribers, once each, in order", async (t) => {
  const server = await RedisServer.start();
  const [a, b] = await twoBuses(t, server.url, () => server.dispose());
  const ra = new Recorder(a);
  const rb = new Recorder(b);
  await subscribed(a, ra, b, "/topic/x");
  await subscribed(b, rb, a, "/topic/x");
  await subscribed(b, rb, a, "/queue/y");
  await sleep(100);
  ra.messages.length = 0; // the probes
  rb.messages.length = 0;
  await a.publishAll([msg("/topic/x", "1"), msg("/queue/y", "2"), msg("/topic/x", "3")]);
  await rb.until(() => rb.messages.length === 3, "B to get the batch");
  await ra.until(() => ra.messages.length === 2, "A (the publisher) to get its own copies");
  await sleep(200);
  assert.deepEqual(rb.messages.map((m) => `${m.destination} ${text(m)}`), ["/topic/x 1", "/queue/y 2", "/topic/x 3"]);
  assert.deepEqual(ra.messages.map(text), ["1", "3"], "the publisher's own subscribers get each message once (through Redis)");
  await a.publishAll([]);
});

test("RedisBus.publishAll while Redis is down: refused before anything is sent, and nothing is delivered, not even locally", async (t) => {
  const server = await RedisServer.start();
  const a = new RedisBus({ redisUrl: server.url, name: "a" });
  t.after(async () => {
    await a.close();
    await server.dispose();
  });
  await whenBusUp(a);
  const ra = new Recorder(a);
  a.subscribe("/topic/x");
  await server.kill();
  await ra.until(() => a.state === "down", "the bus to notice");
  await assert.rejects(a.publishAll([msg("/topic/x", "1"), msg("/topic/x", "2")]), (e: Error) => e instanceof BatchRefusedError && /nothing was published/.test(e.message));
  await sleep(100);
  assert.equal(ra.on("/topic/x").length, 0, "a failed batch reaches no one");
});

test("RedisBus.publishAll when the connection drops in the same turn: refused as never sent, not as a lost reply", async (t) => {
  const server = await RedisServer.start();
  const [a, b] = await twoBuses(t, server.url, () => server.dispose());
  const rb = new Recorder(b);
  await subscribed(b, rb, a, "/topic/x");
  // The publisher's socket dies, and the batch is published before ioredis has seen the 'close'
  // (its status still says ready): exactly the moment a network drop can pick.
  (a as unknown as { pub: { stream: { destroy(): void } } }).pub.stream.destroy();
  await assert.rejects(a.publishAll([msg("/topic/x", "1"), msg("/topic/x", "2")]), (e: Error) => e instanceof BatchRefusedError && /nothing was published/.test(e.message));
  await sleep(200);
  assert.equal(rb.on("/topic/x").length, 0);
});

test("LocalBus.publishAll delivers the batch in order", async () => {
  const bus = new LocalBus();
  const rec = new Recorder(bus);
  bus.subscribe("/topic/a");
  bus.subscribe("/topic/b");
  await bus.publishAll([msg("/topic/a", "1"), msg("/topic/b", "2"), msg("/topic/c", "unheard"), msg("/topic/a", "3")]);
  await rec.until(() => rec.messages.length === 3, "the batch");
  assert.deepEqual(rec.messages.map(text), ["1", "2", "3"]);
});

test("RedisBus.publishAll on Redis Cluster: one slot commits, several slots are refused with CrossSlotError and deliver nothing", async (t) => {
  const cluster = await RedisCluster.start();
  const [a, b] = await twoBuses(t, cluster.url, () => cluster.dispose());
  const rb = new Recorder(b);
  // "{orders}" is the hash tag of both channels; /topic/a and /topic/b (almost surely) live on different slots.
  for (const d of ["/topic/{orders}/new", "/topic/{orders}/paid", "/topic/a", "/topic/b"]) await subscribed(b, rb, a, d);
  await sleep(100);
  rb.messages.length = 0;
  await a.publishAll([msg("/topic/{orders}/new", "n"), msg("/topic/{orders}/paid", "p")]);
  await rb.until(() => rb.messages.length === 2, "the one-slot batch");
  assert.deepEqual(rb.messages.map(text), ["n", "p"]);
  await assert.rejects(a.publishAll([msg("/topic/a", "1"), msg("/topic/b", "2")]), (e: Error) => e instanceof CrossSlotError && /hash slot/.test(e.message));
  await sleep(300);
  assert.equal(rb.messages.length, 2, "nothing of the refused batch arrived");
});
