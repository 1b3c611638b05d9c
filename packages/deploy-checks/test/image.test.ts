// The image's contents without Docker: this machine has the docker client but no engine,
// so the Dockerfile's prod-deps stage runs here on a copy of what its build stage holds,
// with its own RUN lines verbatim, and Herald starts from the result with the runtime
// stage's CMD and ENV. Only the build stage's `npm ci && npx tsc -b` is not rerun: its
// output is this checkout's compiled dist/ (the same sources, built by `npm test`).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { HeraldProcess, postReachesSubscriber, RedisServer, tempDir, type TempDir } from "@herald/testkit";
import { dockerStage, dockerStages, readRepoFile, repoPath, REPO_ROOT, type Stage } from "../src/index.js";

const stages = dockerStages(readRepoFile("Dockerfile"));
const build = dockerStage(stages, "build");
const prodDeps = dockerStage(stages, "prod-deps");
const runtime = stages[stages.length - 1]!;

/** .dockerignore as a path test (no `!` exceptions: this test does not model them). */
function ignoreMatcher(): (rel: string) => boolean {
  const patterns = readRepoFile(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const glob = (p: string) =>
    new RegExp(`^${p.split("**/").map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join("(?:.*/)?")}$`);
  const regexes = patterns.map((p) => {
    assert.ok(!p.startsWith("!"), `.dockerignore exception ${p}: this test does not model exceptions`);
    return glob(p);
  });
  // A path is excluded when it or one of its parent directories matches.
  return (rel) => {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) if (regexes.some((r) => r.test(parts.slice(0, i).join("/")))) return true;
    return false;
  };
}

/** A stage's WORKDIR, inherited from the stage it starts from. */
function workdir(stage: Stage): string {
  const own = stage.instructions.filter((i) => i.op === "WORKDIR").pop();
  if (own) return own.args;
  const base = stages.find((s) => s.name === stage.from);
  assert.ok(base, `stage ${stage.name} has no WORKDIR`);
  return workdir(base);
}

/** The COPY instructions of a stage that read the build context, into `app` (its WORKDIR). */
function copyFromContext(stage: Stage, app: string, ignored: (rel: string) => boolean): void {
  const wd = workdir(stage);
  for (const c of stage.instructions.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
    const dest = parts.pop()!;
    const destDir = join(app, relative(wd, dest.startsWith("/") ? dest : join(wd, dest)));
    for (const src of parts) {
      const target = dest.endsWith("/") || parts.length > 1 ? join(destDir, basename(src)) : destDir;
      cpSync(repoPath(src), target, { recursive: true, filter: (from) => from === repoPath(src) || !ignored(relative(REPO_ROOT, from)) });
    }
  }
}

function tree(dir: string, out: string[] = [], root = dir): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(relative(root, p));
    if (lstatSync(p).isDirectory()) tree(p, out, root);
  }
  return out;
}
function bytes(dir: string): number {
  let n = 0;
  for (const rel of tree(dir)) {
    const st = lstatSync(join(dir, rel));
    if (st.isFile()) n += st.size;
  }
  return n;
}

let tmp: TempDir;
let app: string;
let pruneOutput = "";

before(() => {
  tmp = tempDir("herald-image-");
  app = join(tmp.dir, "app");
  const ignored = ignoreMatcher();
  copyFromContext(build, app, ignored);
  // The build stage's RUN, which this test stands in for: its output is the checkout's dist/.
  const runs = build.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
  assert.deepEqual(runs, ["npm ci && npx tsc -b"], "the build stage changed: this test copies the checkout's dist/ in place of `npm ci && npx tsc -b`");
  for (const top of ["packages", "services"]) {
    for (const name of readdirSync(join(app, top))) cpSync(repoPath(top, name, "dist"), join(app, top, name, "dist"), { recursive: true });
  }
  cpSync(repoPath("loadtest", "dist"), join(app, "loadtest", "dist"), { recursive: true });
  copyFromContext(prodDeps, app, ignored);
  // The prod-deps stage's RUN lines, verbatim (npm may use its cache instead of the network).
  for (const run of prodDeps.instructions.filter((i) => i.op === "RUN")) {
    const r = spawnSync("sh", ["-ec", run.args], { cwd: app, encoding: "utf8", timeout: 240_000, env: { ...process.env, npm_config_prefer_offline: "true" } });
    pruneOutput += r.stdout;
    assert.equal(r.status, 0, `RUN ${run.args}\n${r.stdout}\n${r.stderr}`);
  }
  console.log(`the image's /app, as the Dockerfile leaves it: ${app}\n${pruneOutput}`);
});

after(() => tmp?.dispose());

test("image: only this platform's uWebSockets.js binary and no JavaScript fallback", () => {
  const uws = join(app, "node_modules", "uWebSockets.js");
  const kept = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  assert.deepEqual(readdirSync(join(uws, "binaries")), [kept]);
  for (const gone of ["dist", "docs", "node_modules", "src/fallback"]) assert.ok(!existsSync(join(uws, gone)), `uWebSockets.js/${gone} is pruned`);
  assert.match(pruneOutput, new RegExp(`kept ${kept.replace(/\./g, "\\.")}`));
});

test("image: only the workspaces @herald/server runs, compiled, without sources, tests or maps", () => {
  // @herald/server and the @herald packages it depends on, through their package.json files.
  const pkgOf = (name: string) => {
    const dir = ["packages", "services"].flatMap((top) => readdirSync(repoPath(top)).map((n) => join(top, n))).find((d) => (JSON.parse(readFileSync(repoPath(d, "package.json"), "utf8")) as { name: string }).name === name);
    assert.ok(dir, `no workspace is ${name}`);
    return JSON.parse(readFileSync(repoPath(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  };
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const d of Object.keys(pkgOf(name).dependencies ?? {})) if (d.startsWith("@herald/")) visit(d);
  };
  visit("@herald/server");
  const linked = readdirSync(join(app, "node_modules", "@herald")).map((n) => `@herald/${n}`).sort();
  assert.deepEqual(linked, [...needed].sort());
  for (const gone of ["loadtest", "packages/testkit", "packages/deploy-checks", "scripts", "tsconfig.json"]) assert.ok(!existsSync(join(app, gone)), `${gone} is not in the image`);
  const files = tree(app).filter((p) => !p.startsWith("node_modules/"));
  const junk = files.filter((p) => /^(packages|services)\/[^/]+\/(src|test|dist\/test)(\/|$)/.test(p) || p.endsWith(".map") || p.endsWith(".tsbuildinfo") || p.endsWith(".ts"));
  assert.deepEqual(junk, []);
  assert.ok(existsSync(join(app, "services/cli/dist/src/main.js")));
  assert.ok(existsSync(join(app, "services/edge/public/index.html")), "the demo page ships");
  const deps = tree(join(app, "node_modules")).filter((p) => /(^|\/)(test|tests|__tests__)\//.test(p));
  assert.deepEqual(deps, [], "no tests of dependencies");
});

test("image: the app is a fraction of the unpruned install (was 156 MB)", () => {
  const mb = bytes(app) / 1048576;
  console.log(`the image's /app holds ${mb.toFixed(1)} MB`);
  assert.ok(mb < 40, `the image's /app holds ${mb.toFixed(1)} MB`);
});

/** The runtime stage's CMD as a path under app, and its ENV. */
function runtimeCommand(): { main: string; env: Record<string, string> } {
  const cmd = JSON.parse(runtime.instructions.find((i) => i.op === "CMD")!.args) as string[];
  assert.equal(cmd[0], "node");
  const env: Record<string, string> = {};
  for (const i of runtime.instructions.filter((x) => x.op === "ENV")) for (const m of i.args.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1]!] = m[2]!;
  assert.equal(env["NODE_ENV"], "production");
  // HOST and PORT are the test's (a free port on loopback); built-in rules, not the test kit's.
  delete env["HOST"];
  delete env["PORT"];
  return { main: join(app, cmd[1]!), env: { ...env, HERALD_ACL_FILE: "" } };
}

test("image: Herald starts from the pruned /app: demo, vendor scripts, POST → STOMP subscriber", { timeout: 60_000 }, async () => {
  const { main, env } = runtimeCommand();
  const herald = await HeraldProcess.start({ main, cwd: app, env });
  try {
    for (const path of ["/", "/vendor/sockjs.min.js", "/vendor/stomp.min.js", "/vendor/stomp.umd.min.js"]) {
      assert.equal((await fetch(`${herald.httpUrl}${path}`)).status, 200, path);
    }
    await postReachesSubscriber({ wsUrl: herald.wsUrl, apiUrl: herald.httpUrl });
  } finally {
    await herald.stop();
  }
});

test("image: with REDIS_URL, an edge and an api,worker process from the pruned /app deliver a POST", { timeout: 90_000 }, async () => {
  const { main, env } = runtimeCommand();
  const redis = await RedisServer.start();
  const started: HeraldProcess[] = [];
  try {
    const [edge, api] = await Promise.all(
      ["edge", "api,worker"].map((roles) => HeraldProcess.start({ main, cwd: app, env: { ...env, REDIS_URL: redis.url, HERALD_ROLES: roles } }).then((h) => (started.push(h), h))),
    );
    await postReachesSubscriber({ wsUrl: edge!.wsUrl, apiUrl: api!.httpUrl });
  } finally {
    for (const h of started) await h.stop();
    await redis.dispose();
  }
});
