import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { HeraldProcess, frameText } from "@herald/testkit";
import { header } from "@herald/stomp";
import { Peer, bodyOf } from "./security-helpers.js";

// HERALD_LISTENER=compat on a real Herald: HTTP/1.0 health checks and SockJS,
// STOMP over WebSocket through the relay, TLS on the plain port, and limits
// that count the client's own address, not the relay's.
const MAIN = fileURLToPath(new URL("../../../cli/dist/src/main.js", import.meta.url));

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_LISTENER: "compat", HERALD_MAX_CONNECTIONS_PER_ADDRESS: "1", LOG_LEVEL: "info" } });
});
after(async () => {
  await herald.stop();
});

/** Writes a raw request and reads until the server closes (or `until` matches). */
function raw(request: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(herald.port, "127.0.0.1", () => socket.write(request));
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer in 5 s: ${JSON.stringify(got)}`));
    }, 5000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (until?.test(got)) done();
    });
    socket.on("close", done);
    socket.on("error", () => undefined);
  });
}

test("HTTP/1.0 on /healthz and on the SockJS URLs is answered (Connection: close, no chunked encoding)", async () => {
  const health = await raw("GET /healthz HTTP/1.0\r\n\r\n");
  assert.match(health, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(health.toLowerCase(), /\r\nconnection: close\r\n/);
  assert.doesNotMatch(health.toLowerCase(), /transfer-encoding/);
  const info = await raw("GET /ws/info HTTP/1.0\r\n\r\n");
  assert.match(info, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(info, /"websocket":true/);
  // A streaming transport: its frames arrive unframed as they are written ("o" opens the session).
  const streaming = await raw("POST /ws/000/compat10/xhr_streaming HTTP/1.0\r\nContent-Length: 0\r\n\r\n", /\r\n\r\nh{2048}\no\n/);
  assert.doesNotMatch(streaming.slice(0, streaming.indexOf("\r\n\r\n")).toLowerCase(), /transfer-encoding|content-length/);
});

test("STOMP over WebSocket through the relay, and per-address limits count each client's own address", async () => {
  const stomp = await Peer.connected(herald.wsUrl, {}, { localAddress: "127.0.0.6" });
  assert.equal((await stomp.subscribe("/topic/compat", "1")).command, "RECEIPT");
  stomp.send(frameText("SEND", { destination: "/topic/compat" }, "relayed"));
  const message = await stomp.next();
  assert.equal(message.command, "MESSAGE");
  assert.equal(bodyOf(message), "relayed");
  stomp.close();

  // HERALD_MAX_CONNECTIONS_PER_ADDRESS=1: one connection each from 127.0.0.2 and 127.0.0.3
  // is fine, a second from .2 is not (behind a relay that hid addresses, the second would fail).
  const a = await Peer.connect(herald.wsUrl, {}, { localAddress: "127.0.0.2" });
  const b = await Peer.connect(herald.wsUrl, {}, { localAddress: "127.0.0.3" });
  assert.equal(a.reply.command, "CONNECTED");
  assert.equal(b.reply.command, "CONNECTED");
  const c = await Peer.connect(herald.wsUrl, {}, { localAddress: "127.0.0.2" });
  assert.equal(c.reply.command, "ERROR");
  assert.equal(header(c.reply, "message"), "too many connections from your address");
  for (const s of [a, b, c]) s.peer.close();
});

test("TLS sent to the plain port is closed at once and logged", async () => {
  const started = Date.now();
  const reply = await raw(Buffer.from("16030100c4010000c00303", "hex").toString("latin1"));
  assert.equal(reply, "");
  assert.ok(Date.now() - started < 1000);
  const deadline = Date.now() + 3000;
  while (!/TLS handshake on a plain HTTP port/.test(herald.output)) {
    assert.ok(Date.now() < deadline, herald.output);
    await new Promise((r) => setTimeout(r, 20));
  }
});

test("HERALD_LISTENER=compat with HERALD_TLS_CERT is a configuration error (exit 78)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "herald-compat-"));
  try {
    const [crt, key] = [join(dir, "c.crt"), join(dir, "c.key")];
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-days", "1", "-subj", "/CN=x", "-keyout", key, "-out", crt], { stdio: "pipe" });
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, HERALD_LISTENER: "compat", HERALD_TLS_CERT: crt, HERALD_TLS_KEY: key, PORT: "0", LOG_LEVEL: "fatal" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 78);
    assert.match(stderr, /configuration error: HERALD_LISTENER: compat relays plain HTTP and cannot serve TLS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
