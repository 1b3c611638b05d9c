import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@stomp/stompjs";
import WebSocket from "ws";
import { connectStomp, Inbox, RedisServer, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import {
  expandGrafanaMacros,
  heraldMetricsIn,
  loadAlertRules,
  loadDashboards,
  PrometheusServer,
  queriesOf,
  repoPath,
  type DashboardQuery,
} from "../src/index.js";

// A real Prometheus scraping two real Herald nodes (every role, one Redis) under a
// little traffic: every dashboard query must return data, every alert rule must
// evaluate cleanly, none may fire on the healthy cluster, and the Redis and
// node-down alerts must go pending when Redis and a node are taken away.

/**
 * Metrics that have no series on a healthy node yet, with the reason. Their panels
 * run as TODO (reported, not failing) until the reason is gone: then delete the entry.
 */
const NO_SERIES_YET: Readonly<Record<string, string>> = {};

const TOPIC = "/topic/deploy-checks";
const API_KEY = "deploy-checks-key";
const RATE_WINDOW = "1m";

let redis: RedisServer;
let nodes: HeraldProcess[] = [];
let prom: PrometheusServer;
const clients: Client[] = [];

before(async () => {
  redis = await RedisServer.start();
  const env = (id: string) => ({ REDIS_URL: redis.url, HERALD_NODE_ID: id, HERALD_API_KEYS: API_KEY, HERALD_DRAIN_WINDOW_MS: "0" });
  nodes = await Promise.all([HeraldProcess.start({ env: env("checks-a") }), HeraldProcess.start({ env: env("checks-b") })]);
  prom = await PrometheusServer.start({
    jobs: [{ job: "herald-checks", targets: nodes.map((n) => `127.0.0.1:${n.port}`) }],
    ruleFiles: [repoPath("deploy/prometheus/alerts.yml")],
  });
  await waitFor(async () => (await prom.targets()).filter((t) => t.health === "up").length === nodes.length, { timeoutMs: 15_000, what: "Prometheus scraping both nodes" });

  // Traffic: a subscriber on each node, SENDs from both, one client that leaves, one POSTed notification.
  const inboxes = [new Inbox(), new Inbox()];
  for (const [i, n] of nodes.entries()) {
    const c = await connectStomp(n.wsUrl);
    clients.push(c);
    c.subscribe(TOPIC, inboxes[i]!.push);
  }
  await new Promise((r) => setTimeout(r, 300)); // let both nodes' Redis subscriptions land
  for (const c of clients) for (let i = 0; i < 5; i++) c.publish({ destination: TOPIC, body: `hello ${i}` });
  await Promise.all(inboxes.map((inbox) => inbox.waitFor(5, 10_000)));
  const leaver = await connectStomp(nodes[1]!.wsUrl);
  await leaver.deactivate();
  await protocolErrorOn(nodes[0]!.wsUrl); // a disconnect that is the server's doing
  const posted = await fetch(`${nodes[0]!.httpUrl}/v1/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ destination: TOPIC, body: "from the API" }),
  });
  assert.ok(posted.status >= 200 && posted.status < 300, `POST /v1/notifications answered ${posted.status}: ${await posted.text()}`);
  await Promise.all(inboxes.map((inbox) => waitFor(() => inbox.messages.some((m) => m.body === "from the API"), { timeoutMs: 10_000, what: "the POSTed notification delivered" })));

  // Until Prometheus has seen it all: the worker's queue gauge refreshes every 5 s.
  await waitFor(async () => (await prom.query("max(herald_queue_jobs)")).length > 0 && (await prom.query("sum(herald_jobs_completed_total) > 0")).length > 0, {
    timeoutMs: 20_000,
    intervalMs: 500,
    what: "the queue gauge and a completed job in Prometheus",
  });
  await new Promise((r) => setTimeout(r, 2500)); // a few more scrapes so every rate() has two samples after the traffic
});

/** Sends a frame that is not STOMP; the node answers ERROR and closes (reason protocol-error). */
function protocolErrorOn(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["v12.stomp"]);
    const timer = setTimeout(() => (ws.terminate(), reject(new Error("the node did not close a connection that sent garbage"))), 5000);
    ws.on("open", () => ws.send("NOT-A-COMMAND\n\n\0"));
    ws.on("error", () => undefined);
    ws.on("close", () => (clearTimeout(timer), resolve()));
  });
}

after(async () => {
  await Promise.allSettled(clients.map((c) => c.deactivate()));
  await prom?.stop();
  await Promise.allSettled(nodes.map((n) => n.kill()));
  await redis?.dispose();
});

const queries: DashboardQuery[] = loadDashboards().flatMap(queriesOf);

for (const q of queries) {
  const pending = heraldMetricsIn(q.expr)
    .map((m) => m.replace(/_(bucket|sum|count)$/, ""))
    .filter((m) => NO_SERIES_YET[m] !== undefined);
  const todo = pending.length > 0 ? pending.map((m) => `${m}: ${NO_SERIES_YET[m]}`).join("; ") : false;
  test(`${q.dashboard} / ${q.panel} [${q.refId}] returns data`, { todo }, async () => {
    const expr = expandGrafanaMacros(q.expr, RATE_WINDOW);
    const samples = await prom.query(expr);
    assert.ok(samples.length > 0, `no series for ${expr}`);
    assert.ok(
      samples.some((s) => Number.isFinite(Number(s.value[1]))),
      `only NaN/Inf for ${expr}: ${JSON.stringify(samples.map((s) => s.value[1]))}`,
    );
  });
}

const rules = loadAlertRules();

test("every alert rule evaluates without error in Prometheus, and its metrics have series", async () => {
  await waitFor(async () => (await prom.rules()).every((r) => r.health !== "unknown"), { timeoutMs: 10_000, what: "every rule evaluated once" });
  const evaluated = await prom.rules();
  assert.deepEqual(evaluated.map((r) => r.name).sort(), rules.map((r) => r.alert).sort(), "Prometheus loaded every rule");
  for (const r of evaluated) assert.equal(r.health, "ok", `${r.name}: ${r.lastError ?? ""}`);
  for (const rule of rules) {
    await prom.query(rule.expr); // a PromQL error rejects with Prometheus's message
    for (const m of heraldMetricsIn(rule.expr)) {
      const series = await prom.query(`count({__name__="${m}"})`);
      assert.ok(series.length > 0, `${rule.alert} reads ${m}, which has no series on a running Herald`);
    }
  }
});

test("no alert is pending or firing on the healthy cluster", async () => {
  const active = (await prom.alerts()).filter((a) => a.state === "pending" || a.state === "firing");
  assert.deepEqual(active.map((a) => `${a.labels["alertname"]} (${a.state}) ${JSON.stringify(a.labels)}`), []);
});

test("HeraldRedisDisconnected goes pending when Redis goes away", async () => {
  await redis.stop();
  await waitFor(async () => (await prom.alerts()).filter((a) => a.labels["alertname"] === "HeraldRedisDisconnected" && a.state === "pending").length === nodes.length, {
    timeoutMs: 15_000,
    intervalMs: 250,
    what: "HeraldRedisDisconnected pending for both nodes",
  });
});

test("HeraldNodeDown goes pending when a node stops answering", async () => {
  const victim = nodes[1]!;
  await victim.kill();
  await waitFor(
    async () => (await prom.alerts()).some((a) => a.labels["alertname"] === "HeraldNodeDown" && a.state === "pending" && a.labels["instance"] === `127.0.0.1:${victim.port}`),
    { timeoutMs: 15_000, intervalMs: 250, what: "HeraldNodeDown pending for the killed node" },
  );
});
