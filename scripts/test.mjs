#!/usr/bin/env node
// The one test command (README, .ci/run): type-check and build every project,
// then run every compiled test file with Node's own test runner.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
spawnSync("bash", [join(root, "scripts/ensure-test-deps.sh")], { stdio: "inherit" });
const build = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-b"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    // A compiled test whose source was deleted or renamed stays in dist/ (tsc -b never removes it): skip it.
    else if (name.endsWith(".test.js") && existsSync(sourceOf(p))) out.push(p);
  }
  return out;
}
/** <project>/dist/test/x.test.js → <project>/test/x.test.ts */
function sourceOf(compiled) {
  return compiled.replace(/\/dist\/(test\/.*)\.js$/, "/$1.ts");
}
const projects = ["packages", "services"].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n))).concat([join(root, "loadtest")]);
// Optional filter: `npm test -- stomp edge` runs only the projects whose path contains a word.
const only = process.argv.slice(2);
const files = projects
  .filter((p) => only.length === 0 || only.some((w) => p.includes(w)))
  .flatMap((p) => testFiles(join(p, "dist", "test")))
  .sort();
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const concurrency = process.env.HERALD_TEST_CONCURRENCY ?? "2";
const run = spawnSync(process.execPath, ["--test", `--test-concurrency=${concurrency}`, "--test-timeout=180000", ...files], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
