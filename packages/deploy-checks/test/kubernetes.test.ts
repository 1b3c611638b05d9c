import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { parseRedisUrl } from "@herald/redis";
import {
  envNamesReadByCode,
  findTool,
  isRecord,
  metricsRegisteredInCode,
  numericDefault,
  opsRoutePaths,
  readYamlDocuments,
  renderKustomization,
  repoPath,
  runTool,
  type K8sObject,
} from "../src/index.js";

// The manifests rendered as kustomize would (base and production overlay), each
// object validated against the Kubernetes schema, and everything that must agree
// with the code checked against the code: ports, probe paths, env names, the drain
// window, the autoscaling metric, the WebSocket path.

const OVERLAYS = ["k8s/base", "k8s/overlays/production"] as const;
const rendered = new Map(OVERLAYS.map((o) => [o, renderKustomization(o)] as const));

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, (o: K8sObject) => Validatable> = {
  "v1/Namespace": (o) => new Namespace(o as never),
  "v1/ConfigMap": (o) => new ConfigMap(o as never),
  "v1/Secret": (o) => new Secret(o as never),
  "v1/Service": (o) => new Service(o as never),
  "apps/v1/Deployment": (o) => new Deployment(o as never),
  "apps/v1/StatefulSet": (o) => new StatefulSet(o as never),
  "policy/v1/PodDisruptionBudget": (o) => new PodDisruptionBudget(o as never),
  "autoscaling/v2/HorizontalPodAutoscaler": (o) => new HorizontalPodAutoscaler(o as never),
  "networking.k8s.io/v1/Ingress": (o) => new Ingress(o as never),
  "networking.k8s.io/v1/NetworkPolicy": (o) => new NetworkPolicy(o as never),
};

type Json = Record<string, unknown>;
const rec = (v: unknown, what: string): Json => {
  assert.ok(isRecord(v), `${what} is missing`);
  return v;
};
const list = (v: unknown, what: string): Json[] => {
  assert.ok(Array.isArray(v) && v.every(isRecord), `${what} is missing or not a list of objects`);
  return v;
};
const find = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name}`);
  return o;
};
const podSpec = (o: K8sObject): Json => rec(rec(rec(o["spec"], `${o.metadata.name} spec`)["template"], "template")["spec"], "pod spec");
const podLabels = (o: K8sObject): Record<string, string> => rec(rec(rec(o["spec"], "spec")["template"], "template")["metadata"], "template metadata")["labels"] as Record<string, string>;
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const workloads = (objs: K8sObject[]) => objs.filter((o) => o.kind === "Deployment" && o.metadata.name.startsWith("herald-"));

const codeEnv = envNamesReadByCode();
const opsPaths = opsRoutePaths();

for (const [overlay, objs] of rendered) {
  test(`${overlay}: every object passes the Kubernetes schema`, () => {
    for (const o of objs) {
      const key = `${o.apiVersion}/${o.kind}`;
      if (key === "monitoring.coreos.com/v1/ServiceMonitor" || key === "monitoring.coreos.com/v1/PrometheusRule") continue; // CRDs: checked by hand below
      const model = MODELS[key];
      assert.ok(model, `${o.kind} ${o.metadata.name}: ${key} has no schema here; add it to MODELS`);
      assert.doesNotThrow(() => model(o).validate(), `${o.kind} ${o.metadata.name}`);
      if (o.kind !== "Namespace") assert.equal(o.metadata.namespace, "herald", `${o.kind} ${o.metadata.name}: namespace`);
    }
    const keys = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, "no object twice");
  });

  test(`${overlay}: the schema validation would notice a broken object`, () => {
    // Guards the check above: a container port as a string must be refused.
    const edge = structuredClone(find(objs, "Deployment", "herald-edge"));
    list(podSpec(edge)["containers"], "containers")[0]!["ports"] = [{ name: "http", containerPort: "8080" }];
    assert.throws(() => MODELS["apps/v1/Deployment"]!(edge).validate(), /containerPort must be integer/);
  });

  test(`${overlay}: edge, api and worker run the image on the port, probes and env the code reads`, () => {
    const config = rec(find(objs, "ConfigMap", "herald-config")["data"], "herald-config data") as Record<string, string>;
    const secret = rec(find(objs, "Secret", "herald-secrets")["stringData"], "herald-secrets stringData") as Record<string, string>;
    for (const name of [...Object.keys(config), ...Object.keys(secret)]) {
      assert.ok(codeEnv.has(name), `${name} is set in the ConfigMap/Secret but no code reads it (renamed?)`);
    }
    const port = Number(config["PORT"] ?? 8080);
    const roles = new Map<string, string>();
    for (const d of workloads(objs)) {
      const spec = podSpec(d);
      const [c] = list(spec["containers"], `${d.metadata.name} containers`);
      assert.ok(c);
      assert.match(String(c["image"]), /^ghcr\.io\/herald-gateway\/herald:[\w.-]+$/, `${d.metadata.name}: the image from kustomization images`);
      const ports = list(c["ports"], `${d.metadata.name} ports`);
      const http = ports.find((p) => p["name"] === "http");
      assert.ok(http && http["containerPort"] === port, `${d.metadata.name}: port "http" is PORT (${port})`);
      for (const [probe, path] of [["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"]] as const) {
        const get = rec(rec(c[probe], `${d.metadata.name} ${probe}`)["httpGet"], `${probe}.httpGet`);
        assert.equal(get["path"], path, `${d.metadata.name}: ${probe} path`);
        assert.ok(opsPaths.has(path), `the code serves ${path}`);
        assert.ok(ports.some((p) => p["name"] === get["port"] || p["containerPort"] === get["port"]), `${d.metadata.name}: ${probe} port names a container port`);
      }
      const env = list(c["env"], `${d.metadata.name} env`);
      for (const e of env) assert.ok(codeEnv.has(String(e["name"])), `${d.metadata.name}: env ${String(e["name"])} is not read by any code`);
      const role = env.find((e) => e["name"] === "HERALD_ROLES");
      assert.ok(role, `${d.metadata.name}: sets HERALD_ROLES`);
      roles.set(d.metadata.name, String(role["value"]));
      const from = list(c["envFrom"], `${d.metadata.name} envFrom`);
      assert.ok(from.some((f) => isRecord(f["configMapRef"]) && f["configMapRef"]["name"] === "herald-config"), `${d.metadata.name}: envFrom herald-config`);
      assert.ok(from.some((f) => isRecord(f["secretRef"]) && f["secretRef"]["name"] === "herald-secrets"), `${d.metadata.name}: envFrom herald-secrets`);
      const sc = rec(spec["securityContext"], `${d.metadata.name} securityContext`);
      assert.equal(sc["runAsNonRoot"], true, `${d.metadata.name}: runs as non-root`);
      assert.equal(rec(c["securityContext"], "container securityContext")["allowPrivilegeEscalation"], false);
    }
    assert.deepEqual(Object.fromEntries(roles), { "herald-edge": "edge", "herald-api": "api", "herald-worker": "worker" });
    const rolesSource = readFileSync(repoPath("services/cli/src/roles.ts"), "utf8");
    for (const r of roles.values()) assert.match(rolesSource, new RegExp(`"${r}"`), `the CLI knows the role ${r}`);
  });

  test(`${overlay}: the edge's grace period covers preStop plus the drain window`, () => {
    const edge = find(objs, "Deployment", "herald-edge");
    const spec = podSpec(edge);
    const config = rec(find(objs, "ConfigMap", "herald-config")["data"], "config") as Record<string, string>;
    const drainMs = Number(config["HERALD_DRAIN_WINDOW_MS"] ?? numericDefault("services/cli/src/herald.ts", "HERALD_DRAIN_WINDOW_MS"));
    assert.ok(Number.isInteger(drainMs) && drainMs >= 0, "HERALD_DRAIN_WINDOW_MS is a number of ms");
    const [c] = list(spec["containers"], "containers");
    const cmd = rec(rec(rec(c!["lifecycle"], "lifecycle")["preStop"], "preStop")["exec"], "preStop.exec")["command"] as string[];
    assert.equal(cmd[0], "sleep", "preStop sleeps so endpoints update before SIGTERM");
    const preStopS = Number(cmd[1]);
    const grace = spec["terminationGracePeriodSeconds"];
    assert.equal(typeof grace, "number");
    assert.ok(
      (grace as number) >= preStopS + drainMs / 1000 + 5,
      `terminationGracePeriodSeconds ${String(grace)} < preStop ${preStopS} s + drain ${drainMs / 1000} s + 5 s to exit: the kubelet would SIGKILL mid-drain`,
    );
    const strategy = rec(rec(edge["spec"], "spec")["strategy"], "strategy");
    assert.equal(rec(strategy["rollingUpdate"], "rollingUpdate")["maxUnavailable"], 0, "a rolling update adds capacity before it drains a pod");
    const readiness = rec(c!["readinessProbe"], "readinessProbe");
    assert.ok(Number(readiness["periodSeconds"]) * Number(readiness["failureThreshold"] ?? 3) <= preStopS, "readiness turns a draining pod (503) unready within seconds");
  });

  test(`${overlay}: HPA scales the edge on herald_connections served by the Prometheus adapter`, () => {
    const hpa = find(objs, "HorizontalPodAutoscaler", "herald-edge");
    const spec = rec(hpa["spec"], "hpa spec");
    assert.deepEqual(spec["scaleTargetRef"], { apiVersion: "apps/v1", kind: "Deployment", name: "herald-edge" });
    const [metric] = list(spec["metrics"], "hpa metrics");
    assert.equal(metric!["type"], "Pods");
    const name = rec(rec(metric!["pods"], "pods")["metric"], "pods.metric")["name"];
    const def = metricsRegisteredInCode().get(String(name));
    assert.ok(def && def.type === "gauge", `${String(name)} is a gauge the code registers`);
    assert.ok(Number(spec["minReplicas"]) >= 2, "at least two edges");
    assert.equal(rec(find(objs, "Deployment", "herald-edge")["spec"], "spec")["replicas"], undefined, "the HPA, not the Deployment, owns the replica count");
    const config = rec(find(objs, "ConfigMap", "herald-config")["data"], "config") as Record<string, string>;
    const target = Number(rec(rec(metric!["pods"], "pods")["target"], "target")["averageValue"]);
    assert.ok(target < Number(config["HERALD_MAX_CONNECTIONS"]), "the HPA target is below the per-node connection limit");

    const [adapter] = readYamlDocuments(repoPath("k8s/base/prometheus-adapter-rules.yaml"));
    const rules = parseYaml(String(rec(rec(adapter, "adapter ConfigMap")["data"], "data")["config.yaml"])) as { rules: Json[] };
    const rule = rules.rules.find((r) => rec(r["name"], "name")["as"] === name);
    assert.ok(rule, `the adapter serves ${String(name)}`);
    assert.match(String(rule["seriesQuery"]), new RegExp(`^'?${String(name)}\\{`));
    const overrides = rec(rec(rule["resources"], "resources")["overrides"], "overrides");
    assert.deepEqual(Object.keys(overrides).sort(), ["namespace", "pod"]);
  });

  test(`${overlay}: Services, PDBs, NetworkPolicies and the ServiceMonitor select real pods and ports`, () => {
    const pods = objs.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
    const portNames = (o: K8sObject) => list(podSpec(o)["containers"], "containers").flatMap((c) => list(c["ports"], "ports").map((p) => p["name"]));
    for (const svc of objs.filter((o) => o.kind === "Service")) {
      const spec = rec(svc["spec"], "service spec");
      const target = pods.find((p) => matches(spec["selector"] as Record<string, string>, podLabels(p)));
      assert.ok(target, `Service ${svc.metadata.name} selects pods`);
      for (const p of list(spec["ports"], "service ports")) assert.ok(portNames(target).includes(p["targetPort"]), `Service ${svc.metadata.name}: targetPort ${String(p["targetPort"])} names a container port`);
    }
    for (const pdb of objs.filter((o) => o.kind === "PodDisruptionBudget")) {
      const sel = rec(rec(pdb["spec"], "spec")["selector"], "selector")["matchLabels"] as Record<string, string>;
      assert.ok(pods.some((p) => matches(sel, podLabels(p))), `PDB ${pdb.metadata.name} selects pods`);
    }
    for (const np of objs.filter((o) => o.kind === "NetworkPolicy")) {
      const sel = rec(rec(np["spec"], "spec")["podSelector"], "podSelector")["matchLabels"] as Record<string, string>;
      const target = pods.find((p) => matches(sel, podLabels(p)));
      assert.ok(target, `NetworkPolicy ${np.metadata.name} selects pods`);
      for (const rule of list(rec(np["spec"], "spec")["ingress"], "ingress")) {
        for (const p of list(rule["ports"], "ports")) assert.ok(portNames(target).includes(p["port"]), `NetworkPolicy ${np.metadata.name}: port ${String(p["port"])}`);
      }
    }
    const sm = find(objs, "ServiceMonitor", "herald");
    assert.equal(sm.apiVersion, "monitoring.coreos.com/v1");
    const smSpec = rec(sm["spec"], "ServiceMonitor spec");
    const sel = rec(rec(smSpec["selector"], "selector")["matchLabels"], "matchLabels") as Record<string, string>;
    const scraped = objs.filter((o) => o.kind === "Service" && matches(sel, o.metadata.labels));
    assert.deepEqual(scraped.map((s) => s.metadata.name).sort(), ["herald-api", "herald-edge", "herald-worker"], "scrapes every role");
    const [endpoint] = list(smSpec["endpoints"], "endpoints");
    assert.ok(opsPaths.has(String(endpoint!["path"])) && endpoint!["path"] === "/metrics");
    for (const s of scraped) assert.ok(list(rec(s["spec"], "spec")["ports"], "ports").some((p) => p["name"] === endpoint!["port"]), `${s.metadata.name} has the port the ServiceMonitor scrapes`);
    assert.equal(typeof smSpec["jobLabel"], "string");
    for (const s of scraped) assert.ok(s.metadata.labels?.[smSpec["jobLabel"] as string]?.startsWith("herald-"), `${s.metadata.name}: job label value matches the alerts' job=~"herald-.*"`);
  });

  test(`${overlay}: the Ingress serves wss:// on the edge's WebSocket path with long timeouts and cookie affinity`, () => {
    const ing = find(objs, "Ingress", "herald-edge");
    const a = ing.metadata.annotations ?? {};
    const heartbeat = readFileSync(repoPath("services/edge/src/edge-config.ts"), "utf8");
    assert.ok(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600 && Number(a["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600, "WebSocket proxy timeouts of an hour");
    assert.equal(a["nginx.ingress.kubernetes.io/affinity"], "cookie", "SockJS needs every request of a session on one pod");
    const spec = rec(ing["spec"], "ingress spec");
    assert.ok(list(spec["tls"], "tls").length > 0, "TLS: wss://");
    const pathInCode = /path:\s*"([^"]+)"/.exec(heartbeat)?.[1];
    assert.ok(pathInCode, "the edge's WebSocket path in edge-config.ts");
    const [rule] = list(spec["rules"], "rules");
    const [p] = list(rec(rule!["http"], "http")["paths"], "paths");
    assert.equal(p!["path"], pathInCode);
    const backend = rec(rec(p!["backend"], "backend")["service"], "backend.service");
    const svc = find(objs, "Service", String(backend["name"]));
    assert.ok(list(rec(svc["spec"], "spec")["ports"], "ports").some((x) => x["name"] === rec(backend["port"], "port")["name"]));
  });
}

test("the PrometheusRule carries exactly the alert rules of deploy/prometheus/alerts.yml", () => {
  const alerts = readYamlDocuments(repoPath("deploy/prometheus/alerts.yml"))[0] as Json;
  for (const objs of rendered.values()) {
    const rule = find(objs, "PrometheusRule", "herald");
    assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
    assert.deepEqual(rec(rule["spec"], "PrometheusRule spec")["groups"], alerts["groups"], "k8s/base/prometheus-rule.yaml differs from deploy/prometheus/alerts.yml");
    const sm = find(objs, "ServiceMonitor", "herald");
    assert.equal(rule.metadata.labels?.["release"], sm.metadata.labels?.["release"], "the same Prometheus selects the rules and the ServiceMonitor");
  }
});

test("base: Redis runs in the cluster and REDIS_URL points at it", () => {
  const objs = rendered.get("k8s/base")!;
  const sts = find(objs, "StatefulSet", "herald-redis");
  const url = String(rec(find(objs, "Secret", "herald-secrets")["stringData"], "stringData")["REDIS_URL"]);
  const target = parseRedisUrl(url);
  assert.equal(target.kind, "standalone");
  const serviceName = String(rec(sts["spec"], "spec")["serviceName"]);
  find(objs, "Service", serviceName);
  assert.equal(target.kind === "standalone" ? target.host : "", `${sts.metadata.name}-0.${serviceName}`);
});

test("production: no in-cluster Redis; REDIS_URL names a managed Redis the code can parse", () => {
  const objs = rendered.get("k8s/overlays/production")!;
  assert.equal(objs.find((o) => o.metadata.name === "herald-redis"), undefined);
  const url = String(rec(find(objs, "Secret", "herald-secrets")["stringData"], "stringData")["REDIS_URL"]);
  const target = parseRedisUrl(url);
  assert.equal(target.kind, "cluster");
  assert.ok(target.kind === "cluster" && target.tls && target.nodes.length >= 3, "TLS and several seed nodes");
  const hpa = rec(find(objs, "HorizontalPodAutoscaler", "herald-edge")["spec"], "spec");
  assert.ok(Number(hpa["minReplicas"]) > Number(rec(find(rendered.get("k8s/base")!, "HorizontalPodAutoscaler", "herald-edge")["spec"], "spec")["minReplicas"]));
});

test("the test renderer agrees with kubectl kustomize", (t) => {
  const kubectl = findTool("kubectl");
  if (!kubectl) {
    t.skip("kubectl is not installed: only the built-in renderer was checked");
    return;
  }
  const norm = (objs: unknown[]) => (objs as K8sObject[]).map((o) => JSON.stringify(sortKeys(o))).sort();
  for (const overlay of OVERLAYS) {
    const r = runTool(kubectl, ["kustomize", repoPath(overlay)]);
    assert.equal(r.status, 0, r.output);
    const theirs = r.output
      .split(/^---$/m)
      .map((d) => parseYaml(d) as unknown)
      .filter((d) => d !== null);
    assert.deepEqual(norm(rendered.get(overlay)!), norm(theirs), `${overlay}: the renderer differs from kubectl kustomize`);
  }
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}
