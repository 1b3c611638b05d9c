/**
 * The load harness end to end, tiny: a 20-subscriber fanout for 2 s against the
 * baseline and, when the Herald CLI is built, against Herald too, through the
 * real command; the JSON report must parse and show deliveries and no errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { heraldBuilt } from "../src/servers.js";
import type { Report } from "../src/report.js";

const CLI = fileURLToPath(new URL("../src/cli.js", import.meta.url));

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    // SIGTERM first: the CLI then stops the servers it started.
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs the CLI with `--out` in a fresh temp dir (removed after); it must exit 0. The report and the CLI's output. */
async function runScenario(args: string[], timeoutMs: number): Promise<{ report: Report; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "herald-loadtest-"));
  try {
    const out = join(dir, "report.json");
    const { code, output } = await runCli([...args, "--out", out], timeoutMs);
    assert.equal(code, 0, `loadtest exited with ${code}:\n${output}`);
    return { report: JSON.parse(readFileSync(out, "utf8")) as Report, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a tiny fanout delivers with no errors and writes a parsable JSON report", { timeout: 60_000 }, async () => {
  const withHerald = heraldBuilt();
  const target = withHerald ? "both" : "baseline";
  const { report, output } = await runScenario(["fanout", "--target", target, "--connections", "20", "--duration", "2", "--settle", "200"], 45_000);
  assert.equal(report.scenario, "fanout");
  assert.deepEqual(report.skipped, [], `skipped: ${JSON.stringify(report.skipped)}`);
  assert.deepEqual(
    report.runs.map((r) => r.target),
    withHerald ? ["baseline", "herald"] : ["baseline"],
  );
  for (const r of report.runs) {
    assert.equal(r.connections.established, 20, `${r.target}: ${JSON.stringify(r.connections)}`);
    assert.ok(r.publishing.published > 0, `${r.target} published nothing`);
    assert.ok(r.delivered > 0, `${r.target} delivered nothing`);
    assert.equal(r.delivered, r.expectedDeliveries, `${r.target}: every subscriber gets every message`);
    assert.equal(r.errors.total, 0, `${r.target} errors: ${JSON.stringify(r.errors)}`);
    assert.ok(r.server.cpuMicrosPerDelivery > 0, `${r.target}: server CPU per delivery was not measured`);
    const [only] = r.server.cpuMicrosRunByProcess;
    assert.equal(r.server.cpuMicrosRunByProcess.length, 1, `${r.target}: one process, one entry`);
    assert.equal(only!.cpuMicros, r.server.cpuMicrosRun, `${r.target}: the breakdown of one process is its run CPU`);
    assert.ok(only!.mainThreadMicros > 0 && only!.mainThreadWakeups >= 0, `${r.target}: ${JSON.stringify(only)}`);
    assert.ok(r.server.rssBeforeBytes > 0 && r.latencyMs.max >= r.latencyMs.p50);
  }
  if (withHerald) assert.equal(report.ratios.length, 1, "herald is reported as a ratio to the baseline");
  assert.match(output, /server CPU µs per delivery/);
});

test("the cluster scenario reports CPU per process: each edge node and the publisher node", { timeout: 90_000 }, async (t) => {
  if (!heraldBuilt()) {
    t.skip("Herald is not built");
    return;
  }
  const args = ["cluster", "--target", "herald", "--nodes", "2", "--connections", "20", "--duration", "2", "--settle", "200"];
  const { report, output } = await runScenario(args, 75_000);
  const cluster = report.runs.find((r) => r.server.processes > 1);
  assert.ok(cluster, `no cluster run in ${JSON.stringify(report.runs.map((r) => r.label))}`);
  assert.equal(cluster.errors.total, 0, JSON.stringify(cluster.errors));
  const byProcess = cluster.server.cpuMicrosRunByProcess;
  assert.deepEqual(
    byProcess.map((p) => p.process),
    ["edge-1", "edge-2", "publisher"],
  );
  for (const p of byProcess) assert.ok(p.cpuMicros > 0 && p.mainThreadMicros > 0, `${p.process} spent no CPU: ${JSON.stringify(p)}`);
  // Each entry is rounded on its own: the sum may differ from the total by a microsecond per process.
  const sum = byProcess.reduce((a, p) => a + p.cpuMicros, 0);
  assert.ok(Math.abs(sum - cluster.server.cpuMicrosRun) <= byProcess.length, `sum ${sum} vs run CPU ${cluster.server.cpuMicrosRun}`);
  assert.match(output, /run CPU ms by process .*edge-1 [\d,]+, edge-2 [\d,]+, publisher [\d,]+/);
});

test("a frozen subscriber under the drop policy: Herald keeps it, counts it in herald_slow_consumer_total and logs it", { timeout: 90_000 }, async (t) => {
  if (!heraldBuilt()) {
    t.skip("Herald is not built");
    return;
  }
  // 60 KB bodies fill the frozen socket's kernel buffers within a second; then the 256 KiB limit applies.
  const args = ["slow-consumer", "--target", "herald", "--connections", "20", "--frozen", "1", "--size", "60000", "--duration", "3", "--settle", "200"];
  args.push("--server-env", "HERALD_SLOW_CONSUMER_POLICY=drop", "--server-env", "HERALD_MAX_OUTBOUND_BYTES=256KiB");
  const { report } = await runScenario(args, 75_000);
  assert.deepEqual(report.skipped, [], `skipped: ${JSON.stringify(report.skipped)}`);
  const frozenRun = report.runs.find((r) => r.label === "1-frozen");
  assert.ok(frozenRun?.frozen, `no frozen run in ${JSON.stringify(report.runs.map((r) => r.label))}`);
  assert.equal(frozenRun.errors.total, 0, `healthy subscribers had errors: ${JSON.stringify(frozenRun.errors)}`);
  assert.equal(frozenRun.frozen.closedByServer, 0, "drop keeps the slow connection open");
  assert.ok((frozenRun.frozen.serverSlowConsumers?.["drop"] ?? 0) >= 1, `herald_slow_consumer_total: ${JSON.stringify(frozenRun.frozen.serverSlowConsumers)}`);
  assert.ok(frozenRun.frozen.serverLogLines >= 1, "Herald logged no slow-consumer line");
  assert.ok(frozenRun.frozen.deliveredWhenThawed < frozenRun.publishing.accepted, "the frozen subscriber missed what was dropped");
});
