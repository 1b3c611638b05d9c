// Herald installed the way the README shows it: `npm run pack` builds one tarball per
// publishable package, `npm install -g ./packs/*.tgz` installs them (here into an empty
// temporary prefix instead of the machine's global one; third-party dependencies come
// from the npm registry), and the `herald` command starts in an empty folder.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HeraldProcess, postReachesSubscriber, RedisServer, tempDir, type TempDir } from "@herald/testkit";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
let tmp: TempDir;
let tarballs: string[];
let prefix: string;
let herald: string; // the installed command
let emptyDir: string;

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_prefer_offline: "true" } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  tmp = tempDir("herald-install-");
  emptyDir = join(tmp.dir, "empty");
  prefix = join(tmp.dir, "prefix");
  mkdirSync(emptyDir);
  // The repository is built already (npm test compiles first): pack without rebuilding.
  tarballs = run(process.execPath, [join(root, "scripts/pack.mjs"), "--no-build", "--out", join(tmp.dir, "packs")], root).trim().split("\n");
  run("npm", ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", ...tarballs], emptyDir);
  herald = join(prefix, "bin", "herald");
  console.log(`installed from ${tarballs.length} tarballs into ${prefix}`);
});

after(() => tmp?.dispose());

test("npm run pack: one tarball per publishable package, @herald/server with the herald command", () => {
  const names = tarballs.map((t) => t.split("/").pop()!).sort();
  assert.ok(names.includes("herald-server-0.1.0.tgz"), names.join(" "));
  for (const privateOne of ["herald-testkit", "herald-deploy-checks", "herald-loadtest"]) assert.ok(!names.some((n) => n.startsWith(privateOne)), `${privateOne} is not published`);
  assert.ok(statSync(herald).isFile(), "npm linked bin/herald");
});

test("each installed package ships its types and declares every package its code imports", () => {
  const scope = join(prefix, "lib", "node_modules", "@herald");
  const missing: string[] = [];
  for (const name of readdirSync(scope)) {
    const dir = join(scope, name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; private?: boolean; types: string; exports: { ".": { types: string; default: string } }; dependencies?: Record<string, string> };
    assert.notEqual(pkg.private, true, `${pkg.name} is publishable`);
    for (const file of [pkg.types, pkg.exports["."].types, pkg.exports["."].default]) assert.ok(statSync(join(dir, file)).isFile(), `${pkg.name} ships ${file}`);
    const imported = new Set<string>();
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith(".js")) {
          for (const m of readFileSync(p, "utf8").matchAll(/(?:from\s+|import\(|require(?:\.resolve)?\(|packageFile\()\s*"([^".][^"]*)"/g)) {
            const spec = m[1]!;
            if (spec.startsWith("node:")) continue;
            imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
          }
        }
      }
    };
    walk(join(dir, "dist"));
    for (const dep of imported) if (!(dep in (pkg.dependencies ?? {}))) missing.push(`${pkg.name} imports ${dep}`);
  }
  assert.deepEqual(missing, []);
});

test("the installed herald starts the embedded default: demo page, its scripts, POST → STOMP subscriber", { timeout: 60_000 }, async () => {
  const h = await HeraldProcess.start({ main: herald, cwd: emptyDir, env: { HERALD_ACL_FILE: "" } });
  try {
    for (const path of ["/", "/vendor/sockjs.min.js", "/vendor/stomp.min.js", "/v1/openapi.json"]) assert.equal((await fetch(`${h.httpUrl}${path}`)).status, 200, path);
    await postReachesSubscriber({ wsUrl: h.wsUrl, apiUrl: h.httpUrl });
  } finally {
    await h.stop();
  }
});

test("the installed herald with REDIS_URL: api,worker and edge as separate processes", { timeout: 90_000 }, async () => {
  const redis = await RedisServer.start();
  const started: HeraldProcess[] = [];
  try {
    const [edge, api] = await Promise.all(
      ["edge", "api,worker"].map((roles) =>
        HeraldProcess.start({ main: herald, cwd: emptyDir, env: { HERALD_ACL_FILE: "", REDIS_URL: redis.url, HERALD_ROLES: roles } }).then((h) => (started.push(h), h)),
      ),
    );
    assert.equal((await fetch(`${edge!.httpUrl}/v1/openapi.json`)).status, 404, "the edge alone serves no API");
    assert.equal((await fetch(`${api!.httpUrl}/`)).status, 404, "the api,worker process serves no demo");
    await postReachesSubscriber({ wsUrl: edge!.wsUrl, apiUrl: api!.httpUrl });
  } finally {
    for (const h of started) await h.stop();
    await redis.dispose();
  }
});

test("a TypeScript program type-checks against the installed packages and starts Herald with startHerald", { timeout: 120_000 }, async () => {
  // Beside the global node_modules, as a project that depends on @herald/server would be.
  const project = join(prefix, "lib", "consumer");
  mkdirSync(project);
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out", types: ["node"], typeRoots: [join(root, "node_modules/@types")], skipLibCheck: true },
      files: ["main.ts"],
    }),
  );
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    join(project, "main.ts"),
    `import { startHerald, type RunningHerald } from "@herald/server";
import { defaultAppHandlers, type AppHandler } from "@herald/edge";
import { createLogger } from "@herald/observability";
import { loadUws } from "@herald/uws";
import { serializeFrame } from "@herald/stomp";

const greet: AppHandler = async (msg, ctx) => {
  await ctx.sendTo("/topic/greetings", { body: \`Hello, \${Buffer.from(msg.body).toString()}!\` });
};
defaultAppHandlers().register("/app/greet", greet);
const herald: RunningHerald = await startHerald({ uws: loadUws(), env: {}, logger: createLogger({ level: "silent" }), host: "127.0.0.1", port: 0 });
const health = await fetch(\`http://127.0.0.1:\${herald.port}/healthz\`);
console.log(JSON.stringify({ health: health.status, frame: Buffer.from(serializeFrame({ command: "SEND", headers: [["destination", "/topic/a"]], body: new Uint8Array() }, "1.2")).toString().split("\\n")[0] }));
await herald.stop();
`,
  );
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], project, 120_000);
  const out = run(process.execPath, [join(project, "out", "main.js")], project, 60_000);
  assert.deepEqual(JSON.parse(out.trim().split("\n").pop()!), { health: 200, frame: "SEND" });
});
