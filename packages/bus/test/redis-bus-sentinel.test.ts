import { test } from "node:test";
import { RedisServer } from "@herald/testkit";
import { RedisBus, whenBusUp } from "../src/index.js";
import { Recorder, msg, sleep } from "./helpers.js";
import { Sentinel } from "@herald/testkit";

test("RedisBus over redis+sentinel:// delivers between two nodes", async (t) => {
  const master = await RedisServer.start();
  t.after(() => master.dispose());
  const sentinel = await Sentinel.start(master.port);
  t.after(() => sentinel.dispose());
  const url = `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`;
  const a = new RedisBus({ redisUrl: url, name: "a" });
  const b = new RedisBus({ redisUrl: url, name: "b" });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await Promise.all([whenBusUp(a, 5000), whenBusUp(b, 5000)]);
  const ra = new Recorder(a);
  a.subscribe("/topic/s");
  await sleep(100);
  await b.publish(msg("/topic/s", "via sentinel"));
  await ra.until(() => ra.on("/topic/s").length === 1, "delivery through the sentinel's master");
});
