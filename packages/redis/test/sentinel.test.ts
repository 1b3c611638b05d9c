import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "@herald/testkit";
import { createRedisClient, parseRedisUrl, type Redis } from "../src/index.js";
import { Sentinel } from "@herald/testkit";

test("redis+sentinel:// asks the sentinel for the master and talks to it", async (t) => {
  const master = await RedisServer.start();
  t.after(() => master.dispose());
  const sentinel = await Sentinel.start(master.port);
  t.after(() => sentinel.dispose());
  const client = createRedisClient(parseRedisUrl(`redis+sentinel://127.0.0.1:${sentinel.port}/mymaster/1`), { name: "via-sentinel" }) as Redis;
  t.after(() => client.disconnect());
  client.on("error", () => {});
  await client.set("k", "through sentinel");
  assert.equal(await client.get("k"), "through sentinel");
  const [, port] = (await client.config("GET", "port")) as [string, string];
  assert.equal(Number(port), master.port, "connected to the master the sentinel monitors");
  // db 1 from the URL path
  const direct = createRedisClient(parseRedisUrl(`${master.url}/1`), { name: "direct" }) as Redis;
  t.after(() => direct.disconnect());
  assert.equal(await direct.get("k"), "through sentinel");
});
