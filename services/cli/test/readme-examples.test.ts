import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The README's examples run in doc-examples.test.ts; this checks its Configuration table.
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

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
