#!/usr/bin/env node
// `npm run pack [-- --out DIR]`: builds every project and packs each publishable workspace
// (the ones not marked private) with `npm pack`, one tarball per package, into DIR
// (default packs/). Installing them all gives the `herald` command:
//   npm install -g packs/*.tgz
// The tarballs hold what the package.json "files" lists: compiled JavaScript, types, README.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const outArg = args.indexOf("--out");
const out = resolve(outArg >= 0 ? args[outArg + 1] ?? "" : join(root, "packs"));
const skipBuild = args.includes("--no-build");

/** The publishable workspaces, in the order of the root package.json's workspace globs. */
function publishableWorkspaces() {
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const dirs = rootPkg.workspaces.flatMap((w) =>
    w.endsWith("/*") ? readdirSync(join(root, w.slice(0, -2))).map((n) => join(w.slice(0, -2), n)) : [w],
  );
  return dirs
    .filter((d) => existsSync(join(root, d, "package.json")))
    .map((d) => ({ dir: d, pkg: JSON.parse(readFileSync(join(root, d, "package.json"), "utf8")) }))
    .filter((w) => w.pkg.private !== true);
}

/** Compiled files whose TypeScript source is gone (a rename leaves them behind in dist/). */
function removeStaleOutputs(dir) {
  const distSrc = join(root, dir, "dist", "src");
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const base = p.slice(distSrc.length + 1).replace(/(\.d)?\.ts$|\.js(\.map)?$|\.d\.ts\.map$/, "");
        if (!existsSync(join(root, dir, "src", `${base}.ts`))) rmSync(p);
      }
    }
  };
  if (existsSync(distSrc)) walk(distSrc);
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`herald pack: ${cmd} ${cmdArgs.join(" ")} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

const workspaces = publishableWorkspaces();
if (!skipBuild) {
  console.error("herald pack: compiling (tsc -b)…");
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-b"]);
}
for (const w of workspaces) {
  if (!existsSync(join(root, w.dir, "dist", "src"))) {
    console.error(`herald pack: ${w.dir} has no dist/src: build first (npx tsc -b)`);
    process.exit(1);
  }
  removeStaleOutputs(w.dir);
}
mkdirSync(out, { recursive: true });
const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", out, ...workspaces.flatMap((w) => ["--workspace", w.pkg.name])]));
for (const p of packed) console.log(join(out, p.filename));
