#!/usr/bin/env node
// Removes from a production install of Herald what its image can never use, after
// `npm ci --omit=dev --workspace=@herald/server` (Dockerfile, prod-deps stage):
//
//  * uWebSockets.js: every native binary except the one for this platform, CPU and Node
//    ABI (the package ships 18, ~92 MB), and its JavaScript fallback, which Herald never
//    loads (packages/uws refuses to run on it);
//  * workspaces @herald/server does not depend on (testkit, deploy-checks, loadtest), and
//    in the others the TypeScript sources, tests, source maps and build info;
//  * in node_modules: tests, examples, docs, TypeScript sources and declarations, maps,
//    Markdown (licence files stay).
//
// Run it in the build stage of the target platform, so that "this platform" is the
// image's (docker buildx builds each platform of a multi-platform image on its own).
//   node scripts/prune-image.mjs /app
// It refuses a directory with a .git: it is for an image's copy, never a checkout.
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const dirArg = process.argv[2];
if (!dirArg) {
  console.error("usage: node scripts/prune-image.mjs <app dir> (the image's copy of Herald, never a checkout)");
  process.exit(2);
}
const app = resolve(dirArg);
if (existsSync(join(app, ".git"))) {
  console.error(`prune-image: ${app} is a git checkout; this script deletes sources and is only for an image's copy`);
  process.exit(2);
}
if (!existsSync(join(app, "node_modules", "@herald", "server"))) {
  console.error(`prune-image: ${app}/node_modules/@herald/server is missing: run npm ci --omit=dev --workspace=@herald/server first`);
  process.exit(2);
}

const removed = new Map(); // category -> bytes
function sizeOf(p) {
  const st = lstatSync(p);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const name of readdirSync(p)) n += sizeOf(join(p, name));
  return n;
}
function remove(p, category) {
  if (!existsSync(p)) return;
  removed.set(category, (removed.get(category) ?? 0) + sizeOf(p));
  rmSync(p, { recursive: true, force: true });
}

// --- uWebSockets.js: this platform's binary only, no fallback -------------------------
const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
function pruneUws(dir) {
  const binaries = join(dir, "binaries");
  if (!existsSync(join(binaries, binary))) {
    console.error(`prune-image: ${relative(app, binaries)} has no ${binary}: uWebSockets.js has no build for Node ${process.version} on ${process.platform}/${process.arch}`);
    process.exit(1);
  }
  for (const name of readdirSync(binaries)) if (name !== binary) remove(join(binaries, name), "uWebSockets.js binaries for other platforms and Node versions");
  for (const name of ["dist", "src/fallback", "node_modules", "docs"]) remove(join(dir, name), "uWebSockets.js JavaScript fallback and docs");
}

// --- workspaces ------------------------------------------------------------------------
// The ones @herald/server needs at run time: its dependencies, followed through the
// package.json files (npm links every workspace, dev-only ones too).
const scope = join(app, "node_modules", "@herald");
const UNUSED = "workspaces @herald/server does not use (testkit, deploy-checks, loadtest)";
const needed = new Set();
const visit = (name) => {
  if (needed.has(name)) return;
  needed.add(name);
  const pkg = JSON.parse(readFileSync(join(scope, name.slice("@herald/".length), "package.json"), "utf8"));
  for (const dep of Object.keys(pkg.dependencies ?? {})) if (dep.startsWith("@herald/")) visit(dep);
};
visit("@herald/server");
const kept = new Set();
for (const name of readdirSync(scope)) {
  const link = join(scope, name);
  if (needed.has(`@herald/${name}`)) kept.add(realpathSync(link));
  else rmSync(link);
}
for (const top of ["packages", "services"]) {
  if (!existsSync(join(app, top))) continue;
  for (const name of readdirSync(join(app, top))) {
    const dir = join(app, top, name);
    if (!kept.has(realpathSync(dir))) {
      remove(dir, UNUSED);
      continue;
    }
    for (const sub of ["src", "test", "fixtures", "dist/test", "tsconfig.json", "dist/.tsbuildinfo"]) remove(join(dir, sub), "TypeScript sources, tests and build info");
    const walk = (d) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith(".map") || n.endsWith(".d.ts")) remove(p, "TypeScript sources, tests and build info");
      }
    };
    if (existsSync(join(dir, "dist"))) walk(join(dir, "dist"));
  }
}
remove(join(app, "loadtest"), UNUSED);
for (const f of ["tsconfig.json", "tsconfig.base.json", "scripts"]) remove(join(app, f), "TypeScript sources, tests and build info");

// --- node_modules ----------------------------------------------------------------------
const JUNK_DIRS = new Set(["test", "tests", "__tests__", "example", "examples", "docs", ".github"]);
const junkFile = (n) => /\.(md|markdown|map|ts|mts|cts)$/i.test(n) && !/^licen[cs]e/i.test(n);
function pruneModules(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue; // a workspace link: handled above
    if (st.isDirectory()) {
      if (name === "uWebSockets.js") pruneUws(p); // the alias every Herald package depends on
      if (JUNK_DIRS.has(name)) remove(p, "tests, examples and docs of dependencies");
      else pruneModules(p);
    } else if (junkFile(name)) remove(p, "TypeScript sources, declarations, maps and Markdown of dependencies");
  }
}
pruneModules(join(app, "node_modules"));

let total = 0;
for (const [category, bytes] of removed) {
  total += bytes;
  console.log(`prune-image: ${(bytes / 1048576).toFixed(1).padStart(6)} MB  ${category}`);
}
console.log(`prune-image: ${(total / 1048576).toFixed(1).padStart(6)} MB  removed in all; kept ${binary}`);
