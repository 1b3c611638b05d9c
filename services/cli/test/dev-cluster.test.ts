import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RedisServer, connectStomp, Inbox, freePort, waitFor } from "@herald/testkit";

const DEV_CLUSTER = fileURLToPath(new URL("../src/dev-cluster.js", import.meta.url));

test("npm run cluster: N edges and an api,worker node on consecutive ports, one message across nodes, all stopped on SIGINT", async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.dispose());
  // Three consecutive free ports are likely right above a free one; retry a few bases if not.
  const base = await freePort();
  const child = spawn(process.execPath, [DEV_CLUSTER, "--edges", "2", "--port", String(base), "--redis-url", redis.url], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: "warn", NODE_ENV: "test" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.after(() => child.kill("SIGKILL"));

  const ports = [base, base + 1, base + 2];
  await waitFor(async () => (await Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/readyz`)).status))).every((s) => s === 200), {
    timeoutMs: 20_000,
    what: `three ready nodes (output so far: ${output})`,
  });
  const sub = await connectStomp(`ws://127.0.0.1:${base}/ws`);
  const inbox = new Inbox();
  await new Promise<void>((resolve) => {
    sub.watchForReceipt("r", () => resolve());
    sub.subscribe("/topic/dev", inbox.push, { receipt: "r" });
  });
  // Published through the api,worker node, delivered by edge 1.
  const res = await fetch(`http://127.0.0.1:${base + 2}/v1/notifications`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ destination: "/topic/dev", body: "through the cluster" }),
  });
  assert.equal(res.status, 202);
  const [m] = await inbox.waitFor(1, 10_000);
  assert.equal(m!.body, "through the cluster");
  await sub.deactivate();

  child.kill("SIGINT");
  assert.equal(await exited, 0, output);
  for (const p of ports) await assert.rejects(fetch(`http://127.0.0.1:${p}/healthz`), "every node stopped");
  assert.match(output, /edge-1/);
});
