// The conformance server as the npm script runs it: a child process on a given port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { GET } from "./helpers.js";

const script = fileURLToPath(new URL("../src/test-server.js", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

test("test-server --port serves the four services and stops on SIGTERM", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [script, "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("test server did not start within 10 s")), 10_000);
      child.stdout.on("data", (d: Buffer) => {
        if (String(d).includes("SockJS conformance server on")) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on("exit", (code) => reject(new Error(`test server exited early with ${code}`)));
    });
    for (const svc of ["echo", "close", "disabled_websocket_echo", "cookie_needed_echo"]) {
      const r = await GET(`http://127.0.0.1:${port}/${svc}/info`);
      assert.equal(r.status, 200, svc);
    }
  } finally {
    child.kill("SIGTERM");
  }
  const code = await new Promise((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 0);
});

test("test-server refuses a bad argument with usage", async () => {
  const child = spawn(process.execPath, [script, "--port", "http"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  const code = await new Promise((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 2);
  assert.match(err, /--port needs a number/);
});
