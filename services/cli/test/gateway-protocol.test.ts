import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RawStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_ALLOWED_ORIGINS: "https://app.example" } });
});
after(async () => {
  await herald.stop();
});

test("subprotocol negotiation picks the highest STOMP version offered", async () => {
  const raw = await RawStomp.open(herald.wsUrl, { protocols: ["v10.stomp", "v11.stomp", "v12.stomp"] });
  assert.equal(raw.ws.protocol, "v12.stomp");
  raw.close();
  const old = await RawStomp.open(herald.wsUrl, { protocols: ["v11.stomp"] });
  assert.equal(old.ws.protocol, "v11.stomp");
  // The subprotocol bounds the version: 1.2 is not on offer here.
  old.send(frameText("CONNECT", { "accept-version": "1.1,1.2", host: "h" }));
  const f = await old.next();
  assert.equal(header(f, "version"), "1.1");
  old.close();
});

test("no subprotocol and no accept-version means STOMP 1.0", async () => {
  const raw = await RawStomp.open(herald.wsUrl, { protocols: [] });
  raw.send(frameText("CONNECT", { login: "x" }));
  const f = await raw.next();
  assert.equal(f.command, "CONNECTED");
  assert.equal(header(f, "version"), "1.0");
  // STOMP 1.0: SUBSCRIBE without id is allowed; values are not unescaped.
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/v10", receipt: "s" }));
  assert.equal(header(await raw.next(), "receipt-id"), "s");
  raw.send(frameText("SEND", { destination: "/topic/v10" }, "old"));
  const m = await raw.next();
  assert.equal(m.command, "MESSAGE");
  assert.equal(header(m, "subscription"), "/topic/v10");
  raw.close();
});

test("CONNECTED carries version, heart-beat, server and session", async () => {
  const raw = await RawStomp.open(herald.wsUrl);
  raw.send(frameText("STOMP", { "accept-version": "1.0,1.1,1.2", host: "h", "heart-beat": "0,0" }));
  const f = await raw.next();
  assert.equal(f.command, "CONNECTED");
  assert.equal(header(f, "version"), "1.2");
  assert.equal(header(f, "heart-beat"), "0,0");
  assert.match(header(f, "server") ?? "", /^Herald\//);
  assert.match(header(f, "session") ?? "", /\S/);
  raw.close();
});

test("frames split byte by byte and batched in one WebSocket message", async () => {
  const raw = await RawStomp.open(herald.wsUrl);
  for (const byte of Buffer.from(frameText("CONNECT", { "accept-version": "1.2", host: "h" }))) raw.send(Buffer.from([byte]), false);
  assert.equal((await raw.next()).command, "CONNECTED");
  // Two SUBSCRIBEs and a SEND in one message, with heart-beat EOLs (LF and CRLF) between them.
  raw.send(
    frameText("SUBSCRIBE", { destination: "/topic/batch", id: "a", receipt: "1" }) + "\n\r\n" +
      frameText("SUBSCRIBE", { destination: "/topic/batch", id: "b", receipt: "2" }) + "\n" +
      frameText("SEND", { destination: "/topic/batch" }, "both"),
  );
  const got = [await raw.next(), await raw.next(), await raw.next(), await raw.next()];
  assert.deepEqual(got.slice(0, 2).map((f) => header(f, "receipt-id")), ["1", "2"]);
  const subs = got.slice(2).map((f) => [f.command, header(f, "subscription"), Buffer.from(f.body).toString()]);
  assert.deepEqual(subs.sort(), [["MESSAGE", "a", "both"], ["MESSAGE", "b", "both"]]);
  raw.close();
});

test("CRLF line endings and a body with NUL bytes via content-length", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send("SUBSCRIBE\r\ndestination:/topic/crlf\r\nid:0\r\nreceipt:r\r\n\r\n\0");
  assert.equal(header(await raw.next(), "receipt-id"), "r");
  const body = Buffer.from([0x61, 0x00, 0x62, 0x00]);
  raw.send(Buffer.concat([Buffer.from("SEND\r\ndestination:/topic/crlf\r\ncontent-length:4\r\n\r\n"), body, Buffer.from([0])]));
  const m = await raw.next();
  assert.deepEqual(Buffer.from(m.body), body);
  assert.equal(header(m, "content-length"), "4");
  raw.close();
});

test("a body that is not UTF-8 travels in a binary WebSocket frame, text in a text frame", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/bin", id: "0", receipt: "r" }));
  await raw.next();
  const bin = Buffer.from([0xff, 0xfe, 0x00, 0x01]);
  raw.send(Buffer.concat([Buffer.from(`SEND\ndestination:/topic/bin\ncontent-type:application/octet-stream\ncontent-length:${bin.length}\n\n`), bin, Buffer.from([0])]));
  raw.send(frameText("SEND", { destination: "/topic/bin" }, "plain text"));
  const m1 = await raw.next();
  const m2 = await raw.next();
  assert.deepEqual(Buffer.from(m1.body), bin);
  assert.equal(raw.binaryFlags[2], true);
  assert.equal(Buffer.from(m2.body).toString(), "plain text");
  assert.equal(raw.binaryFlags[3], false);
  raw.close();
});

test("header escaping in 1.2: an escaped destination round-trips to the subscriber", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/a\\cb", id: "x\\\\y", receipt: "r" }));
  assert.equal(header(await raw.next(), "receipt-id"), "r");
  // A line feed (\n) in a SEND header is refused: STOMP 1.0 subscribers could not carry it (security-header-injection).
  raw.send(frameText("SEND", { destination: "/topic/a\\cb", "x-note": "k\\cv \\\\ w" }, "e"));
  const m = await raw.next();
  assert.equal(header(m, "destination"), "/topic/a:b");
  assert.equal(header(m, "subscription"), "x\\y");
  assert.equal(header(m, "x-note"), "k:v \\ w");
  raw.close();
});

test("every frame with a receipt gets a RECEIPT; DISCONNECT's receipt comes before the close", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/r", id: "0", receipt: "a" }));
  raw.send(frameText("SEND", { destination: "/topic/r", receipt: "b" }, "x"));
  raw.send(frameText("BEGIN", { transaction: "t", receipt: "c" }));
  raw.send(frameText("SEND", { destination: "/topic/r", transaction: "t", receipt: "d" }, "in tx"));
  raw.send(frameText("COMMIT", { transaction: "t", receipt: "e" }));
  raw.send(frameText("UNSUBSCRIBE", { id: "0", receipt: "f" }));
  raw.send(frameText("DISCONNECT", { receipt: "g" }));
  await raw.whenClosed();
  const receipts = raw.frames.filter((f) => f.command === "RECEIPT").map((f) => header(f, "receipt-id"));
  assert.deepEqual(receipts, ["a", "b", "c", "d", "e", "f", "g"]);
  const bodies = raw.frames.filter((f) => f.command === "MESSAGE").map((f) => Buffer.from(f.body).toString());
  assert.deepEqual(bodies, ["x", "in tx"]);
});

test("ABORT discards the SENDs of the transaction", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/tx", id: "0" }));
  raw.send(frameText("BEGIN", { transaction: "t" }));
  raw.send(frameText("SEND", { destination: "/topic/tx", transaction: "t" }, "never"));
  raw.send(frameText("ABORT", { transaction: "t" }));
  raw.send(frameText("SEND", { destination: "/topic/tx" }, "after"));
  const m = await raw.next();
  assert.equal(Buffer.from(m.body).toString(), "after");
  raw.close();
});

test("client ack mode adds an ack header to MESSAGE", async () => {
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/ack", id: "0", ack: "client-individual" }));
  raw.send(frameText("SEND", { destination: "/topic/ack" }, "m"));
  const m = await raw.next();
  const ack = header(m, "ack");
  assert.ok(ack, "ack header present");
  raw.send(frameText("ACK", { id: ack!, receipt: "acked" }));
  assert.equal(header(await raw.next(), "receipt-id"), "acked");
  raw.close();
});

test("an upgrade from an origin that is not allowed gets 403 and no connection", async () => {
  await assert.rejects(RawStomp.open(herald.wsUrl, { headers: { origin: "https://evil.example" } }), (e: Error & { status?: number }) => e.status === 403);
  const ok = await RawStomp.open(herald.wsUrl, { headers: { origin: "https://app.example" } });
  ok.close();
});

test("health, readiness, metrics and the demo page", async () => {
  assert.equal((await fetch(`${herald.httpUrl}/healthz`)).status, 200);
  const ready = await fetch(`${herald.httpUrl}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });
  const raw = await RawStomp.connected(herald.wsUrl);
  raw.send(frameText("SUBSCRIBE", { destination: "/topic/m", id: "0", receipt: "r" }));
  await raw.next();
  const metrics = await (await fetch(`${herald.httpUrl}/metrics`)).text();
  assert.match(metrics, /^herald_connections\{transport="websocket",version="1\.2"\} [1-9]/m);
  assert.match(metrics, /^herald_subscriptions [1-9]/m);
  assert.match(metrics, /^herald_nodejs_eventloop_lag_seconds /m);
  assert.match(metrics, /^herald_bytes_in_total [1-9]/m);
  assert.match(metrics, /^herald_bytes_out_total [1-9]/m);
  raw.close();
  const page = await (await fetch(`${herald.httpUrl}/`)).text();
  assert.match(page, /\/app\/sendMessage/);
  assert.equal((await fetch(`${herald.httpUrl}/vendor/stomp.umd.min.js`)).status, 200);
});

test("Herald refuses to start when the native uWebSockets.js binary cannot load", () => {
  const main = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
  // Pretend to be a Node ABI the package ships no binary for.
  const r = spawnSync(process.execPath, ["--import", "data:text/javascript,Object.defineProperty(process.versions,'modules',{value:'999'})", main], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1" },
    encoding: "utf8",
    timeout: 10_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no native binary for this runtime/);
  assert.match(r.stderr, /never runs on the slow JavaScript fallback/);
});
