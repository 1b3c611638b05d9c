import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisCluster, waitFor, type RedisServer } from "@herald/testkit";
import { Redis } from "ioredis";
import { keySlot } from "@herald/redis";
import { RedisBus, whenBusUp } from "../src/index.js";
import { Recorder, msg, sleep, twoBuses } from "./helpers.js";

/** A real three-master Redis Cluster (RedisCluster from @herald/testkit), disposed after the test. */
async function startCluster(t: import("node:test").TestContext): Promise<readonly RedisServer[]> {
  const cluster = await RedisCluster.start();
  t.after(() => cluster.dispose());
  return cluster.nodes;
}

/** A cluster, two buses "a" and "b" on it (up), and an admin connection to each node. */
async function clusterWithBuses(t: import("node:test").TestContext) {
  const cluster = await RedisCluster.start();
  const [a, b] = await twoBuses(t, cluster.url, () => cluster.dispose());
  const admins = cluster.nodes.map((n) => new Redis({ port: n.port, host: "127.0.0.1" }));
  t.after(() => admins.forEach((c) => c.disconnect()));
  return { nodes: cluster.nodes, a, b, admins };
}

test("Redis Cluster: buses deliver through SPUBLISH/SSUBSCRIBE on the shard that owns the channel only", async (t) => {
  const { nodes, a, b, admins } = await clusterWithBuses(t);
  const ra = new Recorder(a);
  const rb = new Recorder(b);

  const destinations = ["/topic/x", "/topic/y", "/user/ann/queue/n", "/topic/z"];
  for (const d of destinations) a.subscribe(d);

  // Which node owns each channel's slot.
  const slots = await admins[0]!.cluster("SLOTS");
  const owner = async (channel: string) => {
    const slot = Number(await admins[0]!.cluster("KEYSLOT", channel));
    const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi)!;
    return nodes.findIndex((n) => n.port === Number(range[2]![1]));
  };
  const shardNumsub = async (i: number, channel: string) => Number(((await admins[i]!.pubsub("SHARDNUMSUB", channel)) as [string, number])[1]);

  const owners = new Set<number>();
  for (const d of destinations) {
    const ch = `herald:bus:${d}`;
    const o = await owner(ch);
    owners.add(o);
    await waitFor(async () => (await shardNumsub(o, ch)) === 1, { timeoutMs: 5000, what: `SSUBSCRIBE of ${ch} on its shard` });
    for (let i = 0; i < nodes.length; i++) {
      if (i !== o) assert.equal(await shardNumsub(i, ch), 0, `${ch} must not be subscribed on shard ${i} (owner ${o})`);
    }
    // No classic (cluster-wide) subscription at all.
    for (const admin of admins) assert.equal(Number(((await admin.pubsub("NUMSUB", ch)) as [string, number])[1]), 0);
  }
  assert.ok(owners.size >= 2, "the destinations of this test should span more than one shard");

  for (const d of destinations) await b.publish(msg(d, Buffer.from([0, 1, 2, 255]), { headers: { d } }));
  await ra.until(() => ra.messages.length === destinations.length, "all destinations to arrive on A");
  for (const d of destinations) {
    const m = ra.on(d)[0]!;
    assert.deepEqual([...m.body], [0, 1, 2, 255]);
    assert.equal(m.headers.d, d);
  }

  // A burst across shards arrives complete and in order per destination.
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 2000; i++) sends.push(b.publish(msg(destinations[i % destinations.length]!, String(i))));
  await Promise.all(sends);
  await ra.until(() => ra.messages.length === destinations.length + 2000, "the burst", 10_000);
  for (const d of destinations) {
    const seq = ra.on(d).slice(1).map((m) => Number(Buffer.from(m.body).toString()));
    assert.deepEqual(seq, [...seq].sort((x, y) => x - y));
  }

  // Last unsubscribe leaves the shard; B, never subscribed, got nothing.
  a.unsubscribe("/topic/x");
  const chx = "herald:bus:/topic/x";
  const ox = await owner(chx);
  await waitFor(async () => (await shardNumsub(ox, chx)) === 0, { timeoutMs: 5000, what: `SUNSUBSCRIBE of ${chx}` });
  await b.publish(msg("/topic/x", "gone"));
  await sleep(150);
  assert.equal(ra.on("/topic/x").length, 1 + 500);
  assert.equal(rb.messages.length, 0);
});

test("Redis Cluster: subscriptions made before the bus is up, and across a whole-cluster restart", async (t) => {
  const nodes = await startCluster(t);
  const url = `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
  const errors: Error[] = [];
  const a = new RedisBus({ redisUrl: url, name: "a", onError: (e) => errors.push(e) });
  a.subscribe("/topic/early");
  a.subscribe("/topic/stale");
  const b = new RedisBus({ redisUrl: url, name: "b" });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const ra = new Recorder(a);
  await Promise.all([whenBusUp(a, 10_000), whenBusUp(b, 10_000)]);
  await waitFor(
    async () => {
      await b.publish(msg("/topic/early", "e"));
      return ra.on("/topic/early").length > 0;
    },
    { timeoutMs: 5000, intervalMs: 100, what: "early subscription to work" },
  );

  for (const n of nodes) await n.kill();
  await ra.until(() => a.state === "down", "cluster bus to go down", 5000);
  a.subscribe("/topic/new");
  a.unsubscribe("/topic/stale");
  for (const n of nodes) await n.restart();
  await ra.until(() => a.state === "up", "cluster bus to come back", 30_000);
  await whenBusUp(b, 30_000);

  const admins = nodes.map((n) => new Redis({ port: n.port, host: "127.0.0.1" }));
  t.after(() => admins.forEach((c) => c.disconnect()));
  const subscribedAnywhere = async (ch: string) => {
    let sum = 0;
    for (const c of admins) sum += Number(((await c.pubsub("SHARDNUMSUB", ch)) as [string, number])[1]);
    return sum;
  };
  // A whole cluster restarting from its nodes.conf converges in seconds on a quiet machine and
  // much slower under a loaded test run: the wait is generous, the expectation exact.
  let seen = "";
  await waitFor(
    async () => {
      const [n, e] = [await subscribedAnywhere("herald:bus:/topic/new"), await subscribedAnywhere("herald:bus:/topic/early")];
      seen = `new=${n} early=${e}`;
      return n === 1 && e === 1;
    },
    { timeoutMs: 30_000, what: "resubscription after the restart", intervalMs: 100 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${seen}`);
  });
  await waitFor(async () => (await subscribedAnywhere("herald:bus:/topic/stale")) === 0, { timeoutMs: 5000, what: "stale channel dropped" });
  const before = ra.on("/topic/early").length;
  await waitFor(
    async () => {
      await b.publish(msg("/topic/new", "n"));
      await b.publish(msg("/topic/early", "e"));
      return ra.on("/topic/new").length > 0 && ra.on("/topic/early").length > before;
    },
    { timeoutMs: 10_000, intervalMs: 200, what: "delivery after the restart" },
  );
  await b.publish(msg("/topic/stale", "s"));
  await sleep(150);
  assert.equal(ra.on("/topic/stale").length, 0);
  t.diagnostic(`connection errors reported during the outage: ${errors.length} (${[...new Set(errors.map((e) => e.message))].slice(0, 3).join(" | ")})`);
});

test("Redis Cluster: a slot moved to another master while subscribed keeps delivering, from the new owner", async (t) => {
  const { nodes, a, b, admins } = await clusterWithBuses(t);
  const ra = new Recorder(a);
  const destination = "/topic/moving";
  const channel = `herald:bus:${destination}`;
  a.subscribe(destination);

  const slot = keySlot(channel);
  assert.equal(slot, Number(await admins[0]!.cluster("KEYSLOT", channel)), "keySlot agrees with the server");
  const ids = await Promise.all(admins.map(async (c) => String(await c.cluster("MYID"))));
  const ownerIndex = async () => {
    const slots = await admins[0]!.cluster("SLOTS");
    const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi)!;
    return nodes.findIndex((n) => n.port === Number(range[2]![1]));
  };
  const from = await ownerIndex();
  const shardNumsub = async (i: number) => Number(((await admins[i]!.pubsub("SHARDNUMSUB", channel)) as [string, number])[1]);
  await waitFor(async () => (await shardNumsub(from)) === 1, { timeoutMs: 5000, what: "SSUBSCRIBE on the first owner" });
  await b.publish(msg(destination, "before"));
  await ra.until(() => ra.on(destination).length === 1, "delivery before the move");

  // Hand the (empty) slot to another master, the way a resharding tool finishes a migration.
  const to = (from + 1) % nodes.length;
  await admins[to]!.cluster("SETSLOT", slot, "NODE", ids[to]!);
  await admins[from]!.cluster("SETSLOT", slot, "NODE", ids[to]!);
  for (let i = 0; i < nodes.length; i++) if (i !== from && i !== to) await admins[i]!.cluster("SETSLOT", slot, "NODE", ids[to]!);
  await waitFor(async () => (await ownerIndex()) === to, { timeoutMs: 5000, what: "the slot to change owner" });

  // The old owner dropped the subscription (Redis unsubscribes on a slot move); the bus follows it.
  await waitFor(async () => (await shardNumsub(to)) === 1 && (await shardNumsub(from)) === 0, {
    timeoutMs: 15_000,
    what: "the subscription to move to the new owner",
  });
  await waitFor(
    async () => {
      await b.publish(msg(destination, "after"));
      return ra.on(destination).some((m) => Buffer.from(m.body).toString() === "after");
    },
    { timeoutMs: 10_000, intervalMs: 200, what: "delivery after the move" },
  );
  assert.equal(a.state, "up");
});
