// Library behaviour beyond the protocol suite: heart-beats, timeouts, origins, the
// connection API the STOMP layer uses, coexistence with the edge's own app.ws(prefix).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadUws } from "@herald/uws";
import { mountSockJs, type SockJsConnection, type SockJsHandler, type SockJsServer } from "../src/index.js";
import { GET, OPTIONS, POST, Stream, WsClient, listen, sleep, uuid } from "./helpers.js";

interface Recorded {
  conn: SockJsConnection;
  messages: string[];
  closes: number;
}

/** Echoes, records what happens, and obeys a few commands sent as messages. */
function recorder(onOpenExtra?: (c: SockJsConnection) => void): { handler: SockJsHandler; sessions: Recorded[] } {
  const sessions: Recorded[] = [];
  return {
    sessions,
    handler: {
      onOpen(conn) {
        const rec: Recorded = { conn, messages: [], closes: 0 };
        sessions.push(rec);
        onOpenExtra?.(conn);
        return {
          onMessage(m) {
            rec.messages.push(m);
            if (m === "throw") throw new Error("handler failure on purpose");
            if (m.startsWith("close:")) {
              const [, code, reason] = m.split(":");
              conn.send("bye");
              conn.close(Number(code), reason);
              return;
            }
            conn.send(m);
          },
          onClose() {
            rec.closes++;
          },
        };
      },
    },
  };
}

const errors: unknown[] = [];
let srv: { port: number; close(): void };
let http = "";
let ws = "";
const api = recorder();
const quiet = recorder((c) => c.setHeartbeatEnabled(false));
const short = recorder();
let apiServer: SockJsServer;
let shortServer: SockJsServer;
let edgeRawMessages: string[] = [];

before(async () => {
  const app = loadUws().App();
  // What the edge does: raw STOMP websocket at exactly the prefix.
  app.ws<unknown>("/ws", {
    open: (s) => {
      s.send("edge-raw");
    },
    message: (_s, m) => {
      edgeRawMessages.push(Buffer.from(m).toString());
    },
  });
  mountSockJs(app, { prefix: "/ws", selectProtocol: (offered) => offered.find((p) => p === "v12.stomp") }, recorder().handler);
  apiServer = mountSockJs(app, { prefix: "/api", onHandlerError: (err) => errors.push(err) }, api.handler);
  mountSockJs(app, { prefix: "/hb", heartbeatMs: 150 }, recorder().handler);
  mountSockJs(app, { prefix: "/quiet", heartbeatMs: 150 }, quiet.handler);
  shortServer = mountSockJs(app, { prefix: "/short", disconnectDelayMs: 400 }, short.handler);
  mountSockJs(app, { prefix: "/strict", allowedOrigins: ["http://good.example"] }, recorder().handler);
  mountSockJs(app, { prefix: "/nogreet", greeting: false }, recorder().handler);
  srv = await listen(app);
  http = `http://127.0.0.1:${srv.port}`;
  ws = `ws://127.0.0.1:${srv.port}`;
});
after(() => srv.close());

describe("heart-beats", () => {
  test("streaming, polling and websocket receivers get h frames when idle", async () => {
    const s = await Stream.open("POST", `${http}/hb/000/${uuid()}/xhr_streaming`);
    await s.take(2049);
    await s.expect("o\n");
    await s.expect("h\n", 1000);
    await s.expect("h\n", 1000);
    s.close();

    const url = `${http}/hb/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const started = Date.now();
    assert.equal((await POST(url + "/xhr")).body, "h\n");
    assert.ok(Date.now() - started >= 100, "the poll waited about one interval");

    const c = await WsClient.connect(`${ws}/hb/000/${uuid()}/websocket`);
    assert.equal(await c.recv(), "o");
    assert.equal(await c.recv(1000), "h");
    c.close();
  });
  test("setHeartbeatEnabled(false) stops them", async () => {
    const c = await WsClient.connect(`${ws}/quiet/000/${uuid()}/websocket`);
    assert.equal(await c.recv(), "o");
    await sleep(500);
    c.send('["still here"]');
    assert.equal(await c.recv(), 'a["still here"]', "no h frame came before the echo");
    quiet.sessions.at(-1)!.conn.setHeartbeatEnabled(true);
    assert.equal(await c.recv(1000), "h");
    c.close();
  });
});

describe("session lifetime", () => {
  test("an unclaimed polling session times out after the disconnect delay", async () => {
    const id = uuid();
    const url = `${http}/short/000/${id}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const rec = short.sessions.find((s) => s.conn.id === id)!;
    assert.equal(shortServer.sessionCount(), 1);
    assert.equal(rec.closes, 0);
    await sleep(900);
    assert.equal(rec.closes, 1, "onClose was called once");
    assert.equal(rec.conn.closed, true);
    assert.equal(shortServer.sessionCount(), 0);
    assert.equal((await POST(url + "/xhr_send", '["x"]')).status, 404);
    // A new request with the same id is a new session.
    assert.equal((await POST(url + "/xhr")).body, "o\n");
  });
  test("a session that keeps polling stays alive past the delay", async () => {
    const url = `${http}/short/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      assert.equal((await POST(url + "/xhr_send", `["${i}"]`)).status, 204);
      assert.equal((await POST(url + "/xhr")).body, `a["${i}"]\n`);
    }
  });
  test("a closed session keeps serving its close frame until the delay, then is forgotten", async () => {
    const url = `${http}/short/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    assert.equal((await POST(url + "/xhr_send", '["close:3001:done"]')).status, 204);
    assert.equal((await POST(url + "/xhr")).body, 'a["bye"]\n', "messages sent before close come first");
    assert.equal((await POST(url + "/xhr")).body, 'c[3001,"done"]\n');
    await sleep(900);
    assert.equal((await POST(url + "/xhr")).body, "o\n");
  });
});

describe("connection API", () => {
  test("id, transport, headers, query and remote address of the opening request", async () => {
    const id = uuid();
    assert.equal((await POST(`${http}/api/000/${id}/xhr?access_token=abc`, undefined, { "X-Test": "yes", Cookie: "a=b" })).body, "o\n");
    const { conn } = api.sessions.find((s) => s.conn.id === id)!;
    assert.equal(conn.transport, "xhr");
    assert.equal(conn.query, "access_token=abc");
    assert.equal(conn.headers["x-test"], "yes");
    assert.equal(conn.headers["cookie"], "a=b");
    assert.match(conn.remoteAddress, /127\.0\.0\.1/);

    const id2 = uuid();
    const c = await WsClient.connect(`${ws}/api/000/${id2}/websocket?access_token=t2`, { headers: { "X-Test": "ws" } });
    assert.equal(await c.recv(), "o");
    const w = api.sessions.find((s) => s.conn.id === id2)!.conn;
    assert.equal(w.transport, "websocket");
    assert.equal(w.query, "access_token=t2");
    assert.equal(w.headers["x-test"], "ws");
    c.close();

    const raw = await WsClient.connect(`${ws}/api/websocket?access_token=t3`);
    raw.send("ping");
    assert.equal(await raw.recv(), "ping");
    const r = api.sessions.at(-1)!.conn;
    assert.equal(r.transport, "raw-websocket");
    assert.equal(r.query, "access_token=t3");
    assert.ok(r.id.length > 0);
    raw.close();
  });
  test("bufferedAmount counts messages waiting for the next poll; send after close is ignored", async () => {
    const id = uuid();
    const url = `${http}/api/000/${id}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const rec = api.sessions.find((s) => s.conn.id === id)!;
    assert.equal(rec.conn.bufferedAmount(), 0);
    rec.conn.send("x".repeat(1000));
    rec.conn.send("y");
    assert.ok(rec.conn.bufferedAmount() >= 1005);
    assert.equal((await POST(url + "/xhr")).body, `a["${"x".repeat(1000)}","y"]\n`);
    assert.equal(rec.conn.bufferedAmount(), 0);
    rec.conn.close();
    rec.conn.close(3000, "twice");
    assert.doesNotThrow(() => rec.conn.send("late"));
    assert.equal((await POST(url + "/xhr")).body, 'c[1000,"Normal closure"]\n');
    assert.equal(rec.closes, 1);
  });
  test("messages sent in onOpen follow the open frame; a websocket client close reaches onClose", async () => {
    const id = uuid();
    const c = await WsClient.connect(`${ws}/api/000/${id}/websocket`);
    assert.equal(await c.recv(), "o");
    c.send('["one","two"]');
    assert.equal(await c.recv(), 'a["one","two"]', "echoes of one receive are batched into one frame");
    const rec = api.sessions.find((s) => s.conn.id === id)!;
    c.ws.close(1000);
    await c.closed();
    await sleep(50);
    assert.equal(rec.closes, 1);
    assert.equal(rec.conn.closed, true);
  });
  test("a throwing handler closes the session with 1011", async () => {
    const c = await WsClient.connect(`${ws}/api/000/${uuid()}/websocket`);
    assert.equal(await c.recv(), "o");
    const before = errors.length;
    c.send('["throw"]');
    assert.equal(await c.recv(), 'c[1011,"Internal error"]');
    assert.equal((await c.closed()).code, 1011);
    assert.equal(errors.length, before + 1);
  });
  test("server close ends every session with 1001 and refuses new ones", async () => {
    // Uses a dedicated mount so the other tests keep theirs.
    const app = loadUws().App();
    const rec = recorder();
    const server = mountSockJs(app, { prefix: "/x" }, rec.handler);
    const l = await listen(app);
    try {
      const s = await Stream.open("POST", `http://127.0.0.1:${l.port}/x/000/${uuid()}/xhr_streaming`);
      await s.take(2049);
      await s.expect("o\n");
      const c = await WsClient.connect(`ws://127.0.0.1:${l.port}/x/000/${uuid()}/websocket`);
      assert.equal(await c.recv(), "o");
      const raw = await WsClient.connect(`ws://127.0.0.1:${l.port}/x/websocket`);
      await sleep(20);
      assert.equal(server.sessionCount(), 3);
      server.close();
      await s.expect('c[1001,"Server shutting down"]\n');
      await s.expectEnd();
      assert.equal(await c.recv(), 'c[1001,"Server shutting down"]');
      assert.equal((await raw.closed()).code, 1001);
      assert.equal(server.sessionCount(), 0);
      assert.deepEqual(
        rec.sessions.map((r) => r.closes),
        [1, 1, 1],
      );
      assert.equal((await POST(`http://127.0.0.1:${l.port}/x/000/${uuid()}/xhr`)).status, 503);
    } finally {
      l.close();
    }
  });
});

describe("allowed origins", () => {
  const good = { Origin: "http://good.example" };
  const bad = { Origin: "http://evil.example" };
  test("a foreign Origin is 403; listed, same-origin and absent Origins pass", async () => {
    assert.equal((await GET(`${http}/strict/info`, bad)).status, 403);
    assert.equal((await POST(`${http}/strict/000/${uuid()}/xhr`, undefined, bad)).status, 403);
    const r = await GET(`${http}/strict/info`, good);
    assert.equal(r.status, 200);
    assert.equal(r.headers["access-control-allow-origin"], "http://good.example");
    assert.equal((await OPTIONS(`${http}/strict/info`, good)).status, 204);
    assert.equal((await GET(`${http}/strict/info`, { Origin: `http://127.0.0.1:${srv.port}` })).status, 200);
    assert.equal((await GET(`${http}/strict/info`)).status, 200);
    assert.equal((await POST(`${http}/strict/000/${uuid()}/xhr`, undefined, good)).body, "o\n");
  });
  test("JSONP is refused and the iframe page is off", async () => {
    assert.equal((await GET(`${http}/strict/000/${uuid()}/jsonp?c=x`, good)).status, 403);
    assert.equal((await POST(`${http}/strict/000/${uuid()}/jsonp_send`, "d=%5B%5D", good)).status, 403);
    assert.equal((await GET(`${http}/strict/iframe.html`)).status, 404);
  });
  test("websocket upgrades are origin-checked too", async () => {
    await assert.rejects(WsClient.connect(`${ws}/strict/000/${uuid()}/websocket`, { origin: "http://evil.example" }), /403/);
    await assert.rejects(WsClient.connect(`${ws}/strict/websocket`, { origin: "http://evil.example" }), /403/);
    const c = await WsClient.connect(`${ws}/strict/000/${uuid()}/websocket`, { origin: "http://good.example" });
    assert.equal(await c.recv(), "o");
    c.close();
  });
});

describe("next to the edge's app.ws(prefix)", () => {
  test("upgrades of the bare prefix reach the edge; plain GETs get the greeting", async () => {
    edgeRawMessages = [];
    const edge = await WsClient.connect(`${ws}/ws`);
    assert.equal(await edge.recv(), "edge-raw");
    edge.send("CONNECT");
    await sleep(50);
    assert.deepEqual(edgeRawMessages, ["CONNECT"]);
    edge.close();
    const r = await GET(`${http}/ws`);
    assert.equal(r.status, 200);
    assert.equal(r.body, "Welcome to SockJS!\n");
    const s = await WsClient.connect(`${ws}/ws/000/${uuid()}/websocket`);
    assert.equal(await s.recv(), "o");
    s.close();
  });
  test("the subprotocol is chosen by selectProtocol", async () => {
    const c = await WsClient.connect(`${ws}/ws/000/${uuid()}/websocket`, {}, ["v10.stomp", "v12.stomp"]);
    assert.equal(c.ws.protocol, "v12.stomp");
    c.close();
    const d = await WsClient.connect(`${ws}/api/000/${uuid()}/websocket`);
    assert.equal(d.ws.protocol, "");
    d.close();
  });
  test("greeting: false leaves GET of the bare prefix alone but keeps the slash form", async () => {
    // With no route at all, uWS drops the request; either way it is not ours.
    const bare = await GET(`${http}/nogreet`).then(
      (r) => r.body,
      () => "no response",
    );
    assert.notEqual(bare, "Welcome to SockJS!\n");
    assert.equal((await GET(`${http}/nogreet/`)).body, "Welcome to SockJS!\n");
  });
});

describe("options", () => {
  test("bad options are refused with the option's name", () => {
    const app = loadUws().App();
    const h = recorder().handler;
    assert.throws(() => mountSockJs(app, { prefix: "ws" }, h), /prefix/);
    assert.throws(() => mountSockJs(app, { prefix: "/ws/" }, h), /prefix/);
    assert.throws(() => mountSockJs(app, { prefix: "/ws", heartbeatMs: 0 }, h), /heartbeatMs/);
    assert.throws(() => mountSockJs(app, { prefix: "/ws", allowedOrigins: [""] }, h), /allowedOrigins/);
    assert.throws(() => mountSockJs(app, { prefix: "/ws", webSocketIdleTimeoutSeconds: 3 }, h), /webSocketIdleTimeoutSeconds/);
    assert.throws(() => mountSockJs(app, { prefix: "/ws", sockjsUrl: 'x"' }, h), /sockjsUrl/);
  });
});
