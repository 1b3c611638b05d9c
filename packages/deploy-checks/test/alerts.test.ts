import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { heraldMetricsIn, knownMetricNames, loadAlertRules, metricOfSeries, repoPath, requireTool, runTool } from "../src/index.js";

// Static checks of the Prometheus files; the live evaluation is in live-metrics.test.ts.

const rules = loadAlertRules();

test("promtool check rules: deploy/prometheus/alerts.yml", () => {
  const promtool = requireTool("promtool", "prometheus");
  const r = runTool(promtool, ["check", "rules", repoPath("deploy/prometheus/alerts.yml")]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test("promtool check config: deploy/prometheus/prometheus.yml (with its rule file)", () => {
  const promtool = requireTool("promtool", "prometheus");
  const r = runTool(promtool, ["check", "config", repoPath("deploy/prometheus/prometheus.yml")]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: 1 rule files found/);
});

test("the alerts operators asked for exist, each with a severity, a summary and a runbook entry", () => {
  const names = rules.map((r) => r.alert);
  for (const needed of ["HeraldNodeDown", "HeraldConnectionDropsSpike", "HeraldDeliveryLatencyHigh", "HeraldQueueBacklogGrowing", "HeraldJobsFailing", "HeraldRedisDisconnected"]) {
    assert.ok(names.includes(needed), `missing alert ${needed}`);
  }
  assert.equal(new Set(names).size, names.length, "alert names are unique");
  const runbook = readFileSync(repoPath("docs/operations.md"), "utf8");
  for (const r of rules) {
    assert.ok(["critical", "warning"].includes(r.labels["severity"] ?? ""), `${r.alert}: severity critical or warning`);
    assert.ok((r.annotations["summary"] ?? "").length > 0, `${r.alert}: a summary`);
    assert.ok(runbook.includes(r.alert), `${r.alert}: docs/operations.md says what to do about it`);
  }
});

test("every metric an alert reads is registered by the code (or is a Node.js default)", async () => {
  const known = await knownMetricNames();
  for (const r of rules) {
    for (const n of heraldMetricsIn(r.expr)) assert.ok(known.has(metricOfSeries(n, known)), `${r.alert} reads ${n}, which no code registers`);
  }
});

test("HeraldNodeDown selects the job names the scrape configs use", () => {
  const nodeDown = rules.find((r) => r.alert === "HeraldNodeDown")!;
  const jobRe = /job=~"([^"]+)"/.exec(nodeDown.expr);
  assert.ok(jobRe, "selects jobs by regex");
  const re = new RegExp(`^(?:${jobRe[1]})$`);
  const prom = readFileSync(repoPath("deploy/prometheus/prometheus.yml"), "utf8");
  const jobs = [...prom.matchAll(/job_name:\s*(\S+)/g)].map((m) => m[1]!).filter((j) => j.startsWith("herald"));
  assert.deepEqual(jobs.sort(), ["herald-api", "herald-edge", "herald-worker"]);
  for (const j of jobs) assert.match(j, re);
  // On Kubernetes the ServiceMonitor's jobLabel makes the job the Service's app name.
  for (const j of ["herald-edge", "herald-api", "herald-worker"]) assert.match(j, re);
});
