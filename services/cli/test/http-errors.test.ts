import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HeraldProcess } from "@herald/testkit";

// Errors a client must be able to read, against a real Herald process: the
// client runs in another process, as it does in production (in one process the
// two event loops are one, and the races below never happen).
const MAIN = fileURLToPath(new URL("../../../cli/dist/src/main.js", import.meta.url));

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start();
});
after(async () => {
  await herald.stop();
});

test("a 5 MiB POST gets a 413 that Node's fetch reads (not EPIPE while it is still sending)", async () => {
  const body = JSON.stringify({ destination: "/topic/x", body: "x".repeat(5 * 1024 * 1024) });
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${herald.httpUrl}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal(r.status, 413);
    assert.deepEqual(await r.json(), { error: "request body is larger than 65536 bytes", field: null });
  }
  // The node still serves normal requests afterwards.
  assert.equal((await fetch(`${herald.httpUrl}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"destination":"/topic/x","body":"ok"}' })).status, 202);
});

test("a malformed REDIS_URL stops Herald with exit code 78 and one line naming the variable, not a stack trace", async () => {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, REDIS_URL: "redis:/oops", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "fatal" }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 78, stderr);
  assert.match(stderr, /^herald: configuration error: REDIS_URL: "redis:\/oops" is invalid: expected <scheme>:\/\/…/m);
  assert.doesNotMatch(stderr, /\n\s+at /, "a stack trace");
});
