import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HeraldProcess } from "./herald-process.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

/** The fenced block that follows `<!-- tested: name -->` in the README. */
function example(name: string): string {
  const m = new RegExp(`<!-- tested: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README has no example marked "tested: ${name}"`);
  return m[1]!;
}

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start();
});
after(async () => {
  await herald.stop();
});

test("README: the Node client example receives its own message", () => {
  // Written inside the repo so that its imports resolve from node_modules.
  const file = `${root}services/cli/dist/readme-node-client.mjs`;
  writeFileSync(file, `const HERALD_WS = ${JSON.stringify(herald.wsUrl)};\n${example("node-client")}`);
  try {
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /received: Hello, WebSocket!/);
  } finally {
    rmSync(file, { force: true });
  }
});

test("README: the curl publish example answers with ids", () => {
  const r = spawnSync("bash", ["-euo", "pipefail", "-c", example("curl-publish")], {
    encoding: "utf8",
    timeout: 10_000,
    env: { ...process.env, HERALD_HTTP: herald.httpUrl },
  });
  assert.equal(r.status, 0, r.stderr);
  const ids = r.stdout.match(/"id":"[^"]+"/g) ?? [];
  assert.equal(ids.length, 2, r.stdout);
});

test("README: the recovery client shows what alice missed while offline, exactly once, across runs", async (t) => {
  // A gateway of its own (alice's history starts empty); the example names its user in CONNECT's login header.
  const herald = await HeraldProcess.start({ env: { HERALD_INSECURE_LOGIN_AS_USER: "true" } });
  t.after(() => herald.stop());
  const storage = `${root}services/cli/dist/readme-recovery-storage.json`;
  const file = `${root}services/cli/dist/readme-recovery-client.mjs`;
  // The browser globals the snippet uses, and a WebSocket for Node.
  const prelude = `
import WebSocket from "ws";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
globalThis.WebSocket = WebSocket;
const STORE = ${JSON.stringify(storage)};
globalThis.localStorage = {
  getItem: (k) => (existsSync(STORE) ? JSON.parse(readFileSync(STORE, "utf8"))[k] ?? null : null),
  setItem: (k, v) => writeFileSync(STORE, JSON.stringify({ ...(existsSync(STORE) ? JSON.parse(readFileSync(STORE, "utf8")) : {}), [k]: v })),
};
const shown = [];
// Exit after the handler has stored its position, as an app that closes would.
const show = (body) => { shown.push(body); if (shown.length === Number(process.env.EXPECT)) setTimeout(() => { console.log(JSON.stringify(shown)); process.exit(0); }, 100); };
const reloadFromBackend = () => console.log("reload");
`;
  writeFileSync(file, prelude + example("recovery-client").replace("wss://herald.example.com/ws", herald.wsUrl));
  const notify = async (body: string) => {
    const r = await fetch(`${herald.httpUrl}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "alice", destination: "/queue/notifications", body }) });
    assert.equal(r.status, 202);
  };
  const run = (expect: number) => {
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 10_000, env: { ...process.env, EXPECT: String(expect) } });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
  };
  try {
    for (const b of ["a0", "a1", "a2"]) await notify(b);
    assert.deepEqual(run(3), ["a0", "a1", "a2"]);
    for (const b of ["b0", "b1"]) await notify(b);
    assert.deepEqual(run(2), ["b0", "b1"], "the second run resumes after the stored position");
  } finally {
    rmSync(file, { force: true });
    rmSync(storage, { force: true });
  }
});

test("README: the configuration table names every variable the code reads", async () => {
  const { execFileSync } = await import("node:child_process");
  const { readdirSync } = await import("node:fs");
  // Runtime code only: src/ of every package and service, not tests or build output; deploy-checks is test tooling.
  const dirs = ["packages", "services"].flatMap((d) => readdirSync(`${root}${d}`).filter((n) => n !== "deploy-checks").map((n) => `${d}/${n}/src`));
  const out = execFileSync("grep", ["-rhoE", '(read(String|Int|Bool|List|Enum|Bytes)\\(env, |env\\[)"[A-Z][A-Z0-9_]+"', "--include=*.ts", ...dirs], { cwd: root, encoding: "utf8" });
  const names = new Set([...out.matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]!));
  assert.ok(names.size > 30, `found only ${names.size} variables`);
  const config = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Development"));
  const missing = [...names].filter((n) => !config.includes(`\`${n}\``));
  assert.deepEqual(missing, [], "document these in the README's Configuration table");
});
