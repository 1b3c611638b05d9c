import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@stomp/stompjs";
import { connectStomp, freePort, Inbox, RedisServer, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { findTool, localHaproxyConfig, readRepoFile } from "../src/index.js";

// deploy/haproxy/haproxy.cfg run for real in front of three real edges and an api
// plus a worker (the compose topology on loopback): STOMP over WebSocket through it, connections
// spread over the edges, SockJS sessions pinned to one edge across requests, the
// API reachable on /v1/, and a draining edge taken out of rotation by /readyz.
// Only the addresses are rewritten (compose names → 127.0.0.1 ports).

const haproxyBin = findTool("haproxy");
const skip = haproxyBin ? false : "haproxy is not installed (apt-get install haproxy): the live HAProxy checks did not run";
const API_KEY = "haproxy-checks-key";
const EDGES = ["edge1", "edge2", "edge3"] as const;

let redis: RedisServer;
let herald: Record<string, HeraldProcess> = {};
let proxy: ChildProcess | undefined;
let proxyOutput = "";
let proxyPort = 0;
let dir = "";
const clients: Client[] = [];

before(async () => {
  if (skip) return;
  redis = await RedisServer.start();
  const base = { REDIS_URL: redis.url, HERALD_DRAIN_WINDOW_MS: "20000" };
  const started = await Promise.all([
    ...EDGES.map((id) => HeraldProcess.start({ env: { ...base, HERALD_ROLES: "edge", HERALD_NODE_ID: id } })),
    HeraldProcess.start({ env: { ...base, HERALD_ROLES: "api", HERALD_API_KEYS: API_KEY } }),
    HeraldProcess.start({ env: { ...base, HERALD_ROLES: "worker" } }),
  ]);
  herald = { edge1: started[0]!, edge2: started[1]!, edge3: started[2]!, api: started[3]!, worker: started[4]! };
  proxyPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), "herald-haproxy-"));
  const cfg = localHaproxyConfig(readRepoFile("deploy/haproxy/haproxy.cfg"), proxyPort, Object.fromEntries(Object.entries(herald).map(([k, h]) => [k, h.port])));
  writeFileSync(join(dir, "haproxy.cfg"), cfg);
  proxy = spawn(haproxyBin!, ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "pipe", "pipe"] });
  proxy.stdout?.on("data", (d: Buffer) => (proxyOutput += d.toString()));
  proxy.stderr?.on("data", (d: Buffer) => (proxyOutput += d.toString()));
  await waitFor(
    async () => {
      if (proxy!.exitCode !== null) throw new Error(`haproxy exited: ${proxyOutput}`);
      return (await fetch(`http://127.0.0.1:${proxyPort}/readyz`).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: 15_000, intervalMs: 250, what: `haproxy answering through a healthy edge\n${proxyOutput}` },
  );
  await new Promise((r) => setTimeout(r, 4500)); // every server through "rise 2"
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.deactivate()));
  if (proxy && proxy.exitCode === null) {
    const gone = new Promise((r) => proxy!.once("exit", r));
    proxy.kill("SIGTERM");
    await gone;
  }
  await Promise.allSettled(Object.values(herald).map((h) => h.kill()));
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connectionsByEdge(transport: "websocket" | "sockjs"): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of EDGES) {
    if (herald[id]!.child.exitCode !== null) continue;
    const text = await (await fetch(`${herald[id]!.httpUrl}/metrics`)).text();
    out[id] = [...text.matchAll(new RegExp(`^herald_connections\\{transport="${transport}",[^}]*\\} (\\d+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
  }
  return out;
}

test("STOMP over WebSocket through HAProxy, spread over every edge; the API behind /v1/ reaches them", { skip }, async () => {
  const url = `ws://127.0.0.1:${proxyPort}/ws`;
  const inboxes: Inbox[] = [];
  for (let i = 0; i < 6; i++) {
    const c = await connectStomp(url);
    clients.push(c);
    const inbox = new Inbox();
    inboxes.push(inbox);
    c.subscribe("/topic/haproxy-checks", inbox.push);
  }
  const spread = await connectionsByEdge("websocket");
  for (const id of EDGES) assert.ok((spread[id] ?? 0) >= 1, `leastconn gave ${id} no connection: ${JSON.stringify(spread)}`);
  await new Promise((r) => setTimeout(r, 300));
  const posted = await fetch(`http://127.0.0.1:${proxyPort}/v1/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ destination: "/topic/haproxy-checks", body: "through haproxy" }),
  });
  assert.equal(posted.status, 202, await posted.text());
  await Promise.all(inboxes.map((i) => i.waitFor(1, 10_000)));
});

test("SockJS: every request of a session reaches the same edge (hash on /ws/{server})", { skip }, async () => {
  const before = await connectionsByEdge("sockjs");
  const base = `http://127.0.0.1:${proxyPort}/ws`;
  for (let s = 0; s < 6; s++) {
    const path = `${base}/${100 + s * 137}/haproxy-${s}-${Date.now().toString(36)}`;
    const open = await fetch(`${path}/xhr`, { method: "POST" });
    assert.equal(await open.text(), "o\n", "session opened");
    const send = await fetch(`${path}/xhr_send`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify(["CONNECT\naccept-version:1.2\nhost:herald\n\n\u0000"]),
    });
    assert.equal(send.status, 204, `xhr_send reached the session's edge (a 404 means another edge got it): ${await send.text()}`);
    const poll = await fetch(`${path}/xhr`, { method: "POST" });
    assert.match(await poll.text(), /^a\["CONNECTED\\n/, "the CONNECTED frame comes back on the same session");
  }
  const after = await connectionsByEdge("sockjs");
  const gained = EDGES.filter((id) => (after[id] ?? 0) > (before[id] ?? 0));
  assert.ok(gained.length >= 2, `six SockJS sessions with different {server} segments should not all hash to one edge: ${JSON.stringify(after)}`);
});

test("a draining edge (/readyz 503) gets no new connections while its clients close over the window", { skip }, async () => {
  const victim = herald["edge3"]!;
  void victim.stop("SIGTERM"); // drains over HERALD_DRAIN_WINDOW_MS (20 s), then exits
  await waitFor(async () => (await fetch(`${victim.httpUrl}/readyz`)).status === 503, { timeoutMs: 5000, what: "edge3 not ready" });
  await new Promise((r) => setTimeout(r, 5000)); // fall 2 × inter 2 s
  const url = `ws://127.0.0.1:${proxyPort}/ws`;
  const before = await connectionsByEdge("websocket");
  for (let i = 0; i < 6; i++) clients.push(await connectStomp(url)); // a refused upgrade on edge3 would reject here
  const after = await connectionsByEdge("websocket");
  assert.ok((after["edge3"] ?? 0) <= (before["edge3"] ?? 0), `edge3 got new connections while draining: ${JSON.stringify({ before, after })}`);
  assert.equal((after["edge1"] ?? 0) + (after["edge2"] ?? 0), (before["edge1"] ?? 0) + (before["edge2"] ?? 0) + 6, "the six went to edge1 and edge2");
  assert.equal(victim.child.exitCode, null, "edge3 is still draining: the check above ran inside the window");
});
