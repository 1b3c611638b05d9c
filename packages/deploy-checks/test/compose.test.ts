import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { parseRedisUrl } from "@herald/redis";
import { envNamesReadByCode, findTool, numericDefault, opsRoutePaths, parseDockerfile, readRepoFile, readYaml, repoPath, runTool } from "../src/index.js";

// deploy/docker-compose.yml, deploy/haproxy/haproxy.cfg, deploy/prometheus/prometheus.yml
// and the Dockerfile, checked against each other and against the code. There is
// no Docker engine here: the files are parsed, not run (live-metrics.test.ts and
// settings.test.ts run the same settings on real processes).

type Json = Record<string, unknown>;
const compose = readYaml("deploy/docker-compose.yml") as Json;
const services = compose["services"] as Record<string, Json>;
const HERALD = ["edge1", "edge2", "edge3", "api", "worker"];
const codeEnv = envNamesReadByCode();
const opsPaths = opsRoutePaths();
const envOf = (name: string) => services[name]!["environment"] as Record<string, string>;

const seconds = (d: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  assert.ok(m, `a duration like 45s, got ${d}`);
  return Number(m[1]) * (m[2] === "ms" ? 0.001 : m[2] === "m" ? 60 : 1);
};

test("compose runs Redis, three edges, api, worker, HAProxy, Prometheus and Grafana", () => {
  assert.deepEqual(Object.keys(services).sort(), ["api", "edge1", "edge2", "edge3", "grafana", "haproxy", "prometheus", "redis", "worker"]);
  const roles = Object.fromEntries(HERALD.map((s) => [s, envOf(s)["HERALD_ROLES"]]));
  assert.deepEqual(roles, { edge1: "edge", edge2: "edge", edge3: "edge", api: "api", worker: "worker" });
  assert.deepEqual(services["haproxy"]!["ports"], ["8080:8080"]);
  assert.deepEqual(services["prometheus"]!["ports"], ["9090:9090"]);
  assert.deepEqual(services["grafana"]!["ports"], ["3000:3000"]);
  for (const s of HERALD) assert.equal(services[s]!["ports"], undefined, `${s} is reached through HAProxy, not published`);
});

test("compose: every Herald service builds the Dockerfile and sets only env the code reads", () => {
  for (const s of HERALD) {
    const svc = services[s]!;
    const build = svc["build"] as Json;
    assert.ok(existsSync(repoPath("deploy", String(build["context"]), String(build["dockerfile"]))), `${s}: build context and Dockerfile exist`);
    for (const name of Object.keys(envOf(s))) assert.ok(codeEnv.has(name), `${s}: ${name} is not read by any code (renamed?)`);
    const redis = parseRedisUrl(envOf(s)["REDIS_URL"]!);
    assert.ok(redis.kind === "standalone" && redis.host in services, `${s}: REDIS_URL names the compose Redis`);
    assert.deepEqual((svc["depends_on"] as Json)["redis"], { condition: "service_healthy" });
  }
  const ids = ["edge1", "edge2", "edge3"].map((s) => envOf(s)["HERALD_NODE_ID"]);
  assert.equal(new Set(ids).size, 3, "each edge has its own HERALD_NODE_ID");
});

test("compose: healthchecks hit the ops routes on PORT; stop grace covers the drain window", () => {
  for (const s of HERALD) {
    const svc = services[s]!;
    const hc = svc["healthcheck"] as Json;
    const cmd = (hc["test"] as string[]).join(" ");
    const m = /http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(cmd);
    assert.ok(m, `${s}: the healthcheck fetches a local URL`);
    assert.equal(m[1], envOf(s)["PORT"], `${s}: healthcheck port is PORT`);
    assert.ok(opsPaths.has(m[2]!), `${s}: ${m[2]} is served by the code`);
    assert.match(cmd, /^CMD node -e /, `${s}: node itself checks (the slim image has no curl)`);
    const drainMs = Number(envOf(s)["HERALD_DRAIN_WINDOW_MS"] ?? numericDefault("services/cli/src/herald.ts", "HERALD_DRAIN_WINDOW_MS"));
    assert.ok(seconds(String(svc["stop_grace_period"])) >= drainMs / 1000 + 5, `${s}: stop_grace_period lets the drain finish`);
  }
  const redisHc = (services["redis"]!["healthcheck"] as Json)["test"] as string[];
  assert.deepEqual(redisHc, ["CMD", "redis-cli", "ping"]);
});

test("compose: Prometheus scrapes every Herald service on PORT and loads the alert rules", () => {
  const prom = readYaml("deploy/prometheus/prometheus.yml") as Json;
  const targets = (prom["scrape_configs"] as Json[]).filter((j) => String(j["job_name"]).startsWith("herald-")).flatMap((j) => (j["static_configs"] as Json[]).flatMap((c) => c["targets"] as string[]));
  assert.deepEqual(targets.sort(), HERALD.map((s) => `${s}:${envOf(s)["PORT"]}`).sort());
  const volumes = services["prometheus"]!["volumes"] as string[];
  assert.ok(volumes.includes("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"));
  assert.ok(volumes.includes("./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"));
  assert.deepEqual(prom["rule_files"], ["alerts.yml"], "relative to /etc/prometheus/prometheus.yml");
});

const haproxyCfg = readRepoFile("deploy/haproxy/haproxy.cfg");

test("HAProxy: WebSocket timeouts, health checks on /readyz, every edge, SockJS affinity", () => {
  assert.match(haproxyCfg, /^\s*timeout tunnel 1h$/m, "an upgraded WebSocket may stay open for an hour");
  // HTTP/1.1 with a Host header: uWebSockets.js does not answer the HTTP/1.0 of a bare "option httpchk GET /x".
  assert.doesNotMatch(haproxyCfg, /^\s*option httpchk \S/m, "health checks must not use the HTTP/1.0 form");
  const checks = [...haproxyCfg.matchAll(/http-check send meth GET uri (\S+) ver HTTP\/1\.1 hdr host \S+/g)].map((m) => m[1]);
  assert.ok(checks.length >= 3 && checks.every((p) => p === "/readyz"), "every backend checks /readyz over HTTP/1.1");
  assert.ok(opsPaths.has("/readyz"));
  const backends = new Map([...haproxyCfg.matchAll(/^backend (\S+)\n([\s\S]*?)(?=^\S|$(?![\s\S]))/gm)].map((m) => [m[1]!, m[2]!]));
  for (const b of ["edges", "edges_sockjs"]) {
    const servers = [...backends.get(b)!.matchAll(/^\s*server \S+ (\S+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    assert.deepEqual(servers, ["edge1", "edge2", "edge3"].map((s) => `${s}:${envOf(s)["PORT"]}`), `${b}: the three compose edges on PORT`);
  }
  assert.match(backends.get("api")!, new RegExp(`server \\S+ api:${envOf("api")["PORT"]}`));
  // /ws/{server}/{session}/{transport}: the first two segments pin a SockJS session; JSESSIONID wins when set.
  assert.match(haproxyCfg, /acl is_sockjs\s+path_reg \^\/ws\/\[\^\/\]\+\/\[\^\/\]\+\//);
  assert.match(backends.get("edges_sockjs")!, /balance uri depth 2/);
  assert.match(backends.get("edges_sockjs")!, /cookie JSESSIONID prefix/);
  const edgePath = /path:\s*"([^"]+)"/.exec(readRepoFile("services/edge/src/edge-config.ts"))?.[1];
  assert.equal(edgePath, "/ws", "the SockJS rules assume the edge's endpoint is /ws");
});

test("HAProxy: haproxy -c accepts the configuration", (t) => {
  const haproxy = findTool("haproxy");
  if (!haproxy) {
    t.skip("haproxy is not installed (apt-get install haproxy); only the parsed checks ran");
    return;
  }
  const r = runTool(haproxy, ["-c", "-f", repoPath("deploy/haproxy/haproxy.cfg")]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /Configuration file is valid/);
});

test("Dockerfile: multi-stage on node:20-bookworm-slim, full build, production deps, non-root, healthcheck, CMD", () => {
  const ins = parseDockerfile(readRepoFile("Dockerfile"));
  const froms = ins.filter((i) => i.op === "FROM");
  assert.ok(froms.length >= 2, "multi-stage");
  for (const f of froms) assert.match(f.args, /^(node:20-bookworm-slim|\w[\w-]*) AS \S+$/i);
  const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /npm ci && npx tsc -b/);
  assert.match(runs, /npm ci --omit=dev/);
  const pkg = JSON.parse(readRepoFile("package.json")) as { engines: { node: string } };
  assert.match(pkg.engines.node, /^>=20 <21$/, "the image's Node 20 is the one package.json asks for");

  const last = ins.slice(ins.lastIndexOf(froms[froms.length - 1]!));
  const user = last.filter((i) => i.op === "USER").pop();
  assert.ok(user && !/^(root|0)(:|$)/.test(user.args), "the runtime stage runs as a non-root user");
  const hc = last.find((i) => i.op === "HEALTHCHECK");
  assert.ok(hc, "HEALTHCHECK in the runtime stage");
  assert.match(hc.args, /CMD \["node", "-e", .*\/healthz/);
  const cmd = last.find((i) => i.op === "CMD");
  assert.deepEqual(JSON.parse(cmd!.args), ["node", "services/cli/dist/src/main.js"]);
  assert.ok(existsSync(repoPath("services/cli/src/main.ts")), "main.ts compiles to dist/src/main.js");
  const cliTsconfig = JSON.parse(readRepoFile("services/cli/tsconfig.json")) as { compilerOptions: { rootDir: string; outDir: string } };
  assert.deepEqual([cliTsconfig.compilerOptions.rootDir, cliTsconfig.compilerOptions.outDir], [".", "dist"]);
  const env = last.find((i) => i.op === "ENV")!.args;
  for (const name of env.match(/\b[A-Z_]+(?==)/g) ?? []) assert.ok(codeEnv.has(name), `Dockerfile ENV ${name} is read by the code`);
});

test("Dockerfile: everything it copies from the context exists and .dockerignore keeps it", () => {
  const ins = parseDockerfile(readRepoFile("Dockerfile"));
  const ignore = readRepoFile(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const must of ["**/node_modules", "**/dist", ".git"]) assert.ok(ignore.includes(must), `.dockerignore excludes ${must}`);
  const ignored = (p: string) => ignore.some((pat) => pat === p || pat === p.replace(/\/$/, ""));
  for (const c of ins.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(repoPath(src)), `COPY ${src}: not in the repository`);
      assert.ok(!ignored(src), `COPY ${src}: excluded by .dockerignore`);
    }
  }
});

test("compose: Herald settings are strings in YAML (settings.test.ts starts a real Herald with them)", () => {
  for (const s of HERALD) {
    for (const [k, v] of Object.entries(envOf(s))) assert.equal(typeof v, "string", `${s}: ${k} must be a quoted string in YAML, got ${typeof v}`);
  }
});
