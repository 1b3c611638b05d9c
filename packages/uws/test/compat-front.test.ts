import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import WebSocket from "ws";
import { loadUws, type us_listen_socket } from "../src/load-uws.js";
import { OncePerWindow } from "../src/front/compat-front.js";
import { proxyV2Header } from "../src/front/proxy-header.js";
import { ServerApp } from "../src/server/server-app.js";

// HERALD_LISTENER=compat against real uWebSockets.js routes and raw sockets:
// what HTTP/1.0 clients, TLS clients on the plain port and HTTP/1.1 clients get.
const uws = loadUws();
const decoder = new TextDecoder();
const lines: string[] = [];
const logger = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }));

/** Routes the tests call; /address answers with the client address the route sees. */
function mount(server: ServerApp, stream: { next?: () => void }): void {
  server.app.get("/hello", (res) => void res.end("hello\n"));
  server.app.get("/address", (res) => void res.end(decoder.decode(res.getRemoteAddressAsText())));
  server.app.post("/echo", (res) => {
    const parts: Buffer[] = [];
    res.onAborted(() => undefined);
    res.onData((chunk, last) => {
      parts.push(Buffer.from(chunk.slice(0)));
      if (last) res.end(Buffer.concat(parts));
    });
  });
  // Writes "one", then "two" when the test says so: uWebSockets.js sends it chunked.
  server.app.get("/stream", (res) => {
    let open = true;
    res.onAborted(() => void (open = false));
    res.cork(() => void res.writeStatus("200 OK").writeHeader("content-type", "text/plain").write("one\n"));
    stream.next = () => {
      if (open) res.cork(() => void res.end("two\n"));
    };
  });
  server.app.ws("/ws", {
    upgrade: (res, req, context) => {
      const address = decoder.decode(res.getRemoteAddressAsText());
      res.upgrade({ address }, req.getHeader("sec-websocket-key"), req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
    },
    open: (ws) => void ws.send(`hi ${(ws.getUserData() as { address: string }).address}`),
    message: (ws, msg) => void ws.send(msg, false),
  });
}

let server: ServerApp;
let port: number;
const stream: { next?: () => void } = {};
before(async () => {
  server = new ServerApp(uws, undefined, logger, { listener: "compat" });
  mount(server, stream);
  port = await server.listenOn("127.0.0.1", 0);
});
after(() => server.close());

/** Opens a raw connection (from `localAddress`), writes `bytes`, and collects what comes back until the server closes. */
function exchange(bytes: Buffer | string, opts: { localAddress?: string; timeoutMs?: number } = {}): { socket: Socket; received: () => Buffer; closed: Promise<{ ms: number; reply: string }> } {
  const started = Date.now();
  const socket = connect({ host: "127.0.0.1", port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => undefined);
  socket.on("connect", () => socket.write(bytes));
  const closed = new Promise<{ ms: number; reply: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${opts.timeoutMs ?? 3000} ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, opts.timeoutMs ?? 3000);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, reply: Buffer.concat(chunks).toString("latin1") });
    });
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

const headOf = (reply: string) => reply.slice(0, reply.indexOf("\r\n\r\n")).toLowerCase();
const bodyOf = (reply: string) => reply.slice(reply.indexOf("\r\n\r\n") + 4);

test("direct uWebSockets.js 20.30 leaves HTTP/1.0 unanswered (why the compat listener exists)", async () => {
  const direct = new ServerApp(uws, undefined, logger);
  mount(direct, {});
  const directPort = await direct.listenOn("127.0.0.1", 0);
  const socket = connect(directPort, "127.0.0.1", () => socket.write("GET /hello HTTP/1.0\r\nHost: x\r\n\r\n"));
  let got = "";
  socket.on("data", (d) => (got += d));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got, "");
  assert.equal(socket.destroyed, false);
  socket.destroy();
  direct.close();
});

test("HTTP/1.0: answered with Connection: close and no chunked encoding, with or without Host, and the connection closed", async () => {
  for (const request of ["GET /hello HTTP/1.0\r\nHost: example\r\n\r\n", "GET /hello HTTP/1.0\r\n\r\n", "GET /hello HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"]) {
    const { reply } = await exchange(request).closed;
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(headOf(reply), /\r\nconnection: close(\r\n|$)/);
    assert.doesNotMatch(headOf(reply), /transfer-encoding/);
    assert.match(headOf(reply), /content-length: 6/);
    assert.equal(bodyOf(reply), "hello\n");
  }
  const head = await exchange("HEAD /hello HTTP/1.0\r\n\r\n").closed;
  assert.equal(bodyOf(head.reply), "");
  const post = await exchange("POST /echo HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello there").closed;
  assert.equal(bodyOf(post.reply), "hello there");
});

test("HTTP/1.0: a streamed (chunked) response reaches the client as it is written, unframed, ended by the close", async () => {
  const ex = exchange("GET /stream HTTP/1.0\r\n\r\n");
  const deadline = Date.now() + 3000;
  while (!ex.received().toString().endsWith("one\n")) {
    assert.ok(Date.now() < deadline, `first part not relayed: ${JSON.stringify(ex.received().toString())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.doesNotMatch(headOf(ex.received().toString()), /transfer-encoding|content-length/);
  stream.next!();
  const { reply } = await ex.closed;
  assert.equal(bodyOf(reply), "one\ntwo\n");
});

test("a TLS ClientHello on the plain port is closed at once and logged once per address and minute", async () => {
  lines.length = 0;
  const hello = Buffer.from("16030100c4010000c00303", "hex");
  for (let i = 0; i < 3; i++) {
    const { ms, reply } = await exchange(hello).closed;
    assert.equal(reply, "");
    assert.ok(ms < 1000, `took ${ms} ms`);
  }
  await exchange(hello, { localAddress: "127.0.0.2" }).closed;
  const logged = lines.filter((l) => l.includes("TLS handshake on a plain HTTP port"));
  assert.deepEqual(logged.map((l) => JSON.parse(l).remoteAddress), ["127.0.0.1", "127.0.0.2"]);

  let now = 0;
  const once = new OncePerWindow(60_000, () => now);
  assert.equal(once.allow("a"), 0);
  assert.equal(once.allow("a"), undefined);
  assert.equal(once.allow("a"), undefined);
  now = 60_000;
  assert.equal(once.allow("a"), 2);
});

test("no HTTP/1.x request line: 400 or 505 at once, never a hang", async () => {
  const h2 = await exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").closed;
  assert.match(h2.reply, /^HTTP\/1\.1 505 /);
  const junk = await exchange("hello?\r\n").closed;
  assert.match(junk.reply, /^HTTP\/1\.1 400 /);
  assert.ok(h2.ms < 1000 && junk.ms < 1000);
});

test("HTTP/1.1 and WebSocket are relayed; routes see the client's own address (PROXY header), never the relay's", async () => {
  const r = await fetch(`http://127.0.0.1:${port}/hello`);
  assert.equal(await r.text(), "hello\n");
  const keepAlive = exchange("GET /address HTTP/1.1\r\nHost: x\r\n\r\nGET /address HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", { localAddress: "127.0.0.3" });
  const { reply } = await keepAlive.closed;
  assert.equal(reply.match(/\r\n\r\n127\.0\.0\.3/g)?.length, 2, reply);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress: "127.0.0.4" });
  const greeting = await new Promise<string>((resolve, reject) => {
    ws.once("message", (d) => resolve(String(d)));
    ws.once("error", reject);
  });
  assert.equal(greeting, "hi 127.0.0.4");
  ws.send("echo");
  assert.equal(await new Promise<string>((resolve) => ws.once("message", (d) => resolve(String(d)))), "echo");
  ws.close();
});

test("a PROXY header sent by a client is refused: it would set the address of its next request", async () => {
  const forged = proxyV2Header({ address: "10.9.8.7", port: 1 }, { address: "127.0.0.1", port });
  const first = await exchange(Buffer.concat([forged, Buffer.from("GET /address HTTP/1.1\r\nHost: x\r\n\r\n")])).closed;
  assert.match(first.reply, /^HTTP\/1\.1 400 /);
  // Smuggled before a second keep-alive request, in a later write:
  const ex = exchange("GET /address HTTP/1.1\r\nHost: x\r\n\r\n", { localAddress: "127.0.0.5" });
  while (!ex.received().toString().includes("127.0.0.5")) await new Promise((r) => setTimeout(r, 10));
  ex.socket.write(Buffer.concat([forged, Buffer.from("GET /address HTTP/1.1\r\nHost: x\r\n\r\n")]));
  const { reply } = await ex.closed;
  assert.doesNotMatch(reply, /10\.9\.8\.7/);
  assert.equal(reply.match(/HTTP\/1\.1 200/g)?.length, 1);
});

test("direct listener: a client's PROXY header does not change the address routes see", async () => {
  const direct = new ServerApp(uws, undefined, logger);
  mount(direct, {});
  const directPort = await direct.listenOn("127.0.0.1", 0);
  const forged = proxyV2Header({ address: "10.9.8.7", port: 1 }, { address: "127.0.0.1", port: directPort });
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(directPort, "127.0.0.1", () => socket.write(Buffer.concat([forged, Buffer.from("GET /address HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")])));
    let got = "";
    socket.on("data", (d) => (got += d));
    socket.on("close", () => resolve(got));
  });
  assert.equal(bodyOf(reply), "127.0.0.1");
  direct.close();
});

test("PROXY v2 headers as built here are read back by uWebSockets.js: IPv4, IPv6 and IPv4-mapped sources", async () => {
  const app = uws.App();
  app.get("/*", (res) => void res.end(decoder.decode(res.getProxiedRemoteAddressAsText())));
  const listenSocket = await new Promise<us_listen_socket>((resolve) => app.listen("127.0.0.1", 0, (s) => void (s && resolve(s))));
  const bare = uws.us_socket_local_port(listenSocket);
  const seen = (source: string) =>
    new Promise<string>((resolve) => {
      const header = proxyV2Header({ address: source, port: 40000 }, { address: "127.0.0.1", port: bare });
      const socket = connect(bare, "127.0.0.1", () => socket.write(Buffer.concat([header, Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")])));
      let got = "";
      socket.on("data", (d) => (got += d));
      socket.on("close", () => resolve(bodyOf(got)));
    });
  assert.equal(await seen("10.1.2.3"), "10.1.2.3");
  assert.equal(await seen("::ffff:10.1.2.3"), "10.1.2.3");
  // uWebSockets.js writes IPv6 uncompressed.
  assert.equal(await seen("2001:db8::42"), "2001:0db8:0000:0000:0000:0000:0000:0042");
  assert.equal(await seen("fe80::1:2"), "fe80:0000:0000:0000:0000:0000:0001:0002");
  uws.us_listen_socket_close(listenSocket);
});
