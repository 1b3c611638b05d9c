import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { isRecord, readYaml, renderKustomization, type K8sObject } from "../src/index.js";

// The settings operators deploy, given to the real Herald CLI: every role of the
// Kubernetes manifests (ConfigMap + Secret + the container's own env) and of the
// compose file must start and turn ready. A value the code refuses (a bad size, an
// unknown role, a malformed heart-beat) exits 78 with the variable's name, and
// fails here. REDIS_URL is swapped for a Redis of the test's own; HOST/PORT for
// loopback and a free port.

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis?.dispose();
});

async function startsReady(label: string, deployed: Record<string, string>): Promise<void> {
  // PORT and HOST are the test's (HeraldProcess picks a free loopback port); the deployed PORT is checked against the probes elsewhere.
  const { PORT: _port, HOST: _host, ...env } = deployed;
  const h = await HeraldProcess.start({ env: { ...env, REDIS_URL: redis.url, LOG_LEVEL: "warn" } }).catch((err: unknown) => {
    throw new Error(`${label}: Herald did not become ready with these settings: ${(err as Error).message}`);
  });
  try {
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    assert.match(metrics, /^# TYPE herald_process_cpu_seconds_total counter$/m, `${label}: /metrics answers`);
    if (env["HERALD_ROLES"] === "edge") assert.match(metrics, /^# TYPE herald_connections gauge$/m, `${label}: the edge role is running`);
  } finally {
    const stopped = h.stop();
    const timer = setTimeout(() => void h.kill(), 10_000);
    await stopped;
    clearTimeout(timer);
  }
}

function containerEnv(objs: K8sObject[], deployment: string): Record<string, string> {
  const data = (kind: string, name: string, field: string) => {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o && isRecord(o[field]), `${kind} ${name}`);
    return o[field] as Record<string, string>;
  };
  const d = objs.find((x) => x.kind === "Deployment" && x.metadata.name === deployment)!;
  const spec = ((d["spec"] as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }).template.spec);
  const own = Object.fromEntries(spec.containers[0]!.env.map((e) => [e.name, e.value ?? `${deployment}-pod-0`]));
  return { ...data("ConfigMap", "herald-config", "data"), ...data("Secret", "herald-secrets", "stringData"), ...own };
}

for (const overlay of ["k8s/base", "k8s/overlays/production"]) {
  test(`${overlay}: edge, api and worker start and turn ready with the manifests' settings`, async () => {
    const objs = renderKustomization(overlay);
    await Promise.all(["herald-edge", "herald-api", "herald-worker"].map((d) => startsReady(`${overlay} ${d}`, containerEnv(objs, d))));
  });
}

test("deploy/docker-compose.yml: edge, api and worker start and turn ready with the compose settings", async () => {
  const services = (readYaml("deploy/docker-compose.yml") as { services: Record<string, { environment: Record<string, string> }> }).services;
  await Promise.all(["edge1", "api", "worker"].map((s) => startsReady(`compose ${s}`, services[s]!.environment)));
});
