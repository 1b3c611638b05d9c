import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisCluster, connectStomp, Inbox } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";

test("edges on a Redis Cluster relay through sharded pub/sub: the channel lives on its owning shard only", async (t) => {
  const cluster = await RedisCluster.start();
  t.after(() => cluster.dispose());
  const env = { REDIS_URL: cluster.url, HERALD_ROLES: "edge" };
  const [a, b] = await Promise.all([HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "a" } }), HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "b" } })]);
  const admins = cluster.nodes.map((n) => new Redis({ port: n.port, host: "127.0.0.1" }));
  t.after(async () => {
    for (const x of admins) x.disconnect();
    await Promise.all([a.stop(), b.stop()]);
  });

  const sub = await connectStomp(a.wsUrl);
  const inbox = new Inbox();
  await new Promise<void>((resolve) => {
    sub.watchForReceipt("r", () => resolve());
    sub.subscribe("/topic/sharded", inbox.push, { receipt: "r" });
  });
  const pub = await connectStomp(b.wsUrl);
  pub.publish({ destination: "/topic/sharded", body: "via the owning shard" });
  const [m] = await inbox.waitFor(1, 10_000);
  assert.equal(m!.body, "via the owning shard");

  const channel = "herald:bus:/topic/sharded";
  const counts = await Promise.all(admins.map(async (x) => Number(((await x.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number])[1])));
  assert.deepEqual(counts.filter((c) => c > 0), [1], `SHARDNUMSUB per shard: ${counts.join(", ")}`);
  for (const x of admins) {
    const [, classic] = (await x.call("PUBSUB", "NUMSUB", channel)) as [string, number];
    assert.equal(Number(classic), 0, "no classic SUBSCRIBE on a cluster");
  }
  await Promise.all([sub.deactivate(), pub.deactivate()]);
});
