// Websocket transports of the protocol suite (framed and raw), against the conformance server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startConformanceServer, type ConformanceServer } from "../src/index.js";
import { GET, POST, WsClient, request, uuid } from "./helpers.js";

let server: ConformanceServer;
let base = "";
let wsBase = "";
let wsClose = "";

before(async () => {
  server = await startConformanceServer({ port: 0 });
  base = `http://127.0.0.1:${server.port}/echo`;
  wsBase = `ws://127.0.0.1:${server.port}/echo`;
  wsClose = `ws://127.0.0.1:${server.port}/close`;
});
after(() => server.close());

describe("websocket over plain HTTP", () => {
  test("GET without upgrade is 400", async () => {
    const r = await GET(base + "/0/0/websocket");
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('Can "Upgrade" only to "WebSocket".'));
  });
  test("Connection other than Upgrade is 400", async () => {
    const r = await GET(base + "/0/0/websocket", { Upgrade: "WebSocket", Connection: "close" });
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('"Connection" must be "Upgrade".'));
  });
  test("POST is 405 with Allow and no body", async () => {
    for (const h of [{ Upgrade: "WebSocket", Connection: "Upgrade" }, {}] as Array<Record<string, string>>) {
      const r = await request("POST", base + "/0/0/websocket", { headers: h });
      assert.equal(r.status, 405);
      assert.equal(r.headers["content-type"], undefined);
      assert.ok(r.headers["allow"]);
      assert.equal(r.body, "");
    }
  });
  test("disabled websocket service answers 404", async () => {
    const r = await GET(`http://127.0.0.1:${server.port}/disabled_websocket_echo/0/0/websocket`, { Upgrade: "websocket", Connection: "Upgrade" });
    assert.equal(r.status, 404);
    await assert.rejects(WsClient.connect(`ws://127.0.0.1:${server.port}/disabled_websocket_echo/0/0/websocket`), /404/);
  });
});

describe("framed websocket", () => {
  test("open frame, echo, empty frames ignored", async () => {
    const ws = await WsClient.connect(`${wsBase}/000/${uuid()}/websocket`);
    assert.equal(await ws.recv(), "o");
    ws.send("");
    ws.send('["a"]');
    assert.equal(await ws.recv(), 'a["a"]');
    ws.send('"b"');
    assert.equal(await ws.recv(), 'a["b"]');
    ws.close();
  });
  test("server close: close frame, then the socket closes", async () => {
    const ws = await WsClient.connect(`${wsClose}/000/${uuid()}/websocket`);
    assert.equal(await ws.recv(), "o");
    assert.equal(await ws.recv(), 'c[3000,"Go away!"]');
    const c = await ws.closed();
    assert.equal(c.code, 3000);
  });
  test("broken JSON drops the socket", async () => {
    const ws = await WsClient.connect(`${wsBase}/000/${uuid()}/websocket`);
    assert.equal(await ws.recv(), "o");
    ws.send('["a');
    await ws.closed();
  });
  test("a session id may be reused by concurrent and later sockets", async () => {
    const url = `${wsBase}/000/${uuid()}/websocket`;
    const ws1 = await WsClient.connect(url);
    assert.equal(await ws1.recv(), "o");
    const ws2 = await WsClient.connect(url);
    assert.equal(await ws2.recv(), "o");
    ws1.send('["a"]');
    assert.equal(await ws1.recv(), 'a["a"]');
    ws2.send('["b"]');
    assert.equal(await ws2.recv(), 'a["b"]');
    ws1.close();
    ws2.close();
    const ws3 = await WsClient.connect(url);
    assert.equal(await ws3.recv(), "o");
    ws3.send('["a"]');
    assert.equal(await ws3.recv(), 'a["a"]');
    ws3.close();
  });
  test("messages are escaped like on every transport", async () => {
    const ws = await WsClient.connect(`${wsBase}/000/${uuid()}/websocket`);
    assert.equal(await ws.recv(), "o");
    ws.send(JSON.stringify(["x\u2028y\u0001"]));
    assert.equal(await ws.recv(), 'a["x\\u2028y\\u0001"]');
    ws.close();
  });
  test("dotted session ids are refused", async () => {
    await assert.rejects(WsClient.connect(`${wsBase}/000/a.b/websocket`), /404/);
  });
});

describe("raw websocket", () => {
  test("echo without framing", async () => {
    const ws = await WsClient.connect(`${wsBase}/websocket`);
    ws.send("Hello world!\uffff");
    assert.equal(await ws.recv(), "Hello world!\uffff");
    ws.close();
  });
  test("close service closes the socket", async () => {
    const ws = await WsClient.connect(`${wsClose}/websocket`);
    const c = await ws.closed();
    assert.equal(c.code, 3000);
  });
  test("plain GET of the raw endpoint is 400", async () => {
    assert.equal((await GET(base + "/websocket")).status, 400);
    assert.equal((await POST(base + "/websocket")).status, 405);
  });
});
