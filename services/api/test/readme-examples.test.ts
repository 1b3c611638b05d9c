import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { curlCommand, loadExamples, README_FILE } from "./examples.js";
import { startApi } from "./harness.js";

const run = promisify(execFile);

test("the README shows every example of examples.json as its curl command", () => {
  const readme = readFileSync(README_FILE, "utf8");
  for (const e of loadExamples()) assert.ok(readme.includes(curlCommand(e)), `README lacks the curl command of "${e.name}":\n${curlCommand(e)}`);
});

test("every README curl example runs against a live API with the documented status", { timeout: 30_000 }, async () => {
  const h = await startApi({ apiKeys: ["readme-key"] });
  let id = "";
  try {
    for (const e of loadExamples()) {
      // The README command as is, plus a write-out of the status code on its own line.
      const { stdout } = await run("sh", ["-c", `${curlCommand(e)} -w '\\n%{http_code}'`], {
        env: { ...process.env, HERALD_URL: h.url, HERALD_API_KEY: "readme-key", ID: id },
        timeout: 10_000,
      });
      const lines = stdout.trimEnd().split("\n");
      const status = Number(lines.pop());
      const body = JSON.parse(lines.join("\n")) as Record<string, unknown>;
      assert.equal(status, e.status, `${e.name}: ${stdout}`);
      if (typeof body.id === "string" && id === "") id = body.id;
      if (e.status >= 400) assert.equal(typeof body.error, "string");
    }
    assert.notEqual(id, "");
  } finally {
    await h.close();
  }
});
