import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  expandGrafanaMacros,
  heraldMetricsIn,
  isRecord,
  knownMetricNames,
  loadDashboards,
  metricOfSeries,
  panelsOf,
  queriesOf,
  readYaml,
  repoPath,
} from "../src/index.js";

// Static checks of the Grafana dashboards and their provisioning. The live check
// (every query returns data from a running Herald) is in live-metrics.test.ts.

const dashboards = loadDashboards();

test("the two dashboards exist, with unique uids and the expected titles", () => {
  const titles = dashboards.map((d) => d.json["title"]);
  assert.deepEqual([...titles].sort(), ["Herald — connection load", "Herald — delivery"]);
  const uids = dashboards.map((d) => d.json["uid"]);
  assert.equal(new Set(uids).size, uids.length, "dashboard uids must be unique");
  for (const d of dashboards) assert.match(String(d.json["uid"]), /^[a-z0-9-]{1,40}$/, `${d.file}: uid`);
});

for (const d of dashboards) {
  test(`${d.file}: panels are well formed (ids, grid, data source, a query each)`, () => {
    const panels = panelsOf(d);
    assert.ok(panels.length > 0);
    const ids = panels.map((p) => p["id"]);
    assert.equal(new Set(ids).size, ids.length, "panel ids must be unique");
    const templating = d.json["templating"];
    assert.ok(isRecord(templating) && Array.isArray(templating["list"]));
    const dsVar = (templating["list"] as unknown[]).find((v) => isRecord(v) && v["name"] === "datasource");
    assert.ok(isRecord(dsVar) && dsVar["type"] === "datasource" && dsVar["query"] === "prometheus", "a Prometheus data source variable named datasource");
    for (const p of panels) {
      const title = String(p["title"]);
      const grid = p["gridPos"];
      assert.ok(isRecord(grid) && typeof grid["w"] === "number" && typeof grid["h"] === "number" && (grid["x"] as number) + (grid["w"] as number) <= 24, `${title}: gridPos within 24 columns`);
      if (p["type"] === "row") continue;
      assert.ok(typeof p["description"] === "string" && p["description"].length > 10, `${title}: says what it shows (description)`);
      assert.deepEqual(p["datasource"], { type: "prometheus", uid: "${datasource}" }, `${title}: uses the datasource variable`);
      const targets = p["targets"];
      assert.ok(Array.isArray(targets) && targets.length > 0, `${title}: has a query`);
      for (const t of targets) {
        assert.ok(isRecord(t) && typeof t["expr"] === "string" && t["expr"].trim() !== "", `${title}: every target has an expr`);
        assert.doesNotThrow(() => expandGrafanaMacros(t["expr"] as string), `${title}: only Grafana's interval macros in queries`);
      }
    }
  });
}

test("every metric a dashboard queries is registered by the code (or is a Node.js default)", async () => {
  const known = await knownMetricNames();
  const missing: string[] = [];
  for (const q of dashboards.flatMap(queriesOf)) {
    const names = heraldMetricsIn(q.expr);
    assert.ok(names.length > 0, `${q.dashboard} / ${q.panel}: queries no herald_ metric: ${q.expr}`);
    for (const n of names) if (!known.has(metricOfSeries(n, known))) missing.push(`${q.dashboard} / ${q.panel}: ${n}`);
  }
  assert.deepEqual(missing, [], "metrics no code registers (renamed or removed?)");
});

test("the dashboards cover what operators asked for", () => {
  const all = dashboards.flatMap(queriesOf).map((q) => q.expr).join("\n");
  for (const needed of [
    "herald_connections",
    "herald_connects_total",
    "herald_disconnects_total",
    "herald_subscriptions",
    "herald_destinations",
    "herald_messages_delivered_total",
    "herald_delivery_latency_seconds_bucket",
    "herald_queue_jobs",
    "herald_jobs_failed_total",
    "herald_bus_published_total",
    "herald_bus_received_total",
    "herald_bus_publish_errors_total",
    "herald_redis_up",
    "herald_slow_consumer_total",
    "herald_nodejs_eventloop_lag_p99_seconds",
  ]) {
    assert.ok(all.includes(needed), `no dashboard query reads ${needed}`);
  }
  assert.match(all, /histogram_quantile\(0\.5, .*herald_delivery_latency_seconds_bucket/);
  assert.match(all, /histogram_quantile\(0\.99, .*herald_delivery_latency_seconds_bucket/);
});

test("Grafana provisioning: the Prometheus data source and a file provider for the mounted dashboards", () => {
  const ds = readYaml("deploy/grafana/provisioning/datasources/prometheus.yml");
  assert.ok(isRecord(ds) && Array.isArray(ds["datasources"]));
  const prom = (ds["datasources"] as unknown[]).find((d) => isRecord(d) && d["type"] === "prometheus");
  assert.ok(isRecord(prom), "a prometheus data source");
  assert.equal(prom["url"], "http://prometheus:9090", "points at the compose service");

  const prov = readYaml("deploy/grafana/provisioning/dashboards/herald.yml");
  assert.ok(isRecord(prov) && Array.isArray(prov["providers"]));
  const provider = prov["providers"][0];
  assert.ok(isRecord(provider) && provider["type"] === "file" && isRecord(provider["options"]));
  const path = String(provider["options"]["path"]);

  // The compose file mounts deploy/grafana/dashboards at that path and the provisioning folder where Grafana reads it.
  const compose = readYaml("deploy/docker-compose.yml");
  assert.ok(isRecord(compose) && isRecord(compose["services"]));
  const grafana = compose["services"]["grafana"];
  assert.ok(isRecord(grafana) && Array.isArray(grafana["volumes"]));
  const volumes = grafana["volumes"] as string[];
  assert.ok(volumes.some((v) => v.startsWith(`./grafana/dashboards:${path}`)), `compose mounts the dashboards at ${path}`);
  assert.ok(volumes.some((v) => v.startsWith("./grafana/provisioning:/etc/grafana/provisioning")), "compose mounts the provisioning folder");
  const env = grafana["environment"];
  assert.ok(isRecord(env));
  const home = String(env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]);
  assert.ok(home.startsWith(path + "/") && existsSync(repoPath("deploy/grafana/dashboards", home.slice(path.length + 1))), "the home dashboard is one of ours");
});
