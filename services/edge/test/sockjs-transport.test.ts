import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { globalAgent } from "node:http";
import SockJS from "sockjs-client";
import { LocalBus } from "@herald/bus";
import { ConfigError } from "@herald/config";
import { createLogger, createRegistry } from "@herald/observability";
import { loadUws, type us_listen_socket } from "@herald/uws";
import { EdgeNode } from "../src/edge-node.js";
import { edgeConfigFromEnv } from "../src/edge-config.js";
import { frameToSockJsMessage, mountStompSockJs, sockjsConfigFromEnv } from "../src/transports/sockjs.js";

describe("sockjsConfigFromEnv", () => {
  test("defaults", () => {
    assert.deepEqual(sockjsConfigFromEnv({}), {
      enabled: true,
      cookieNeeded: false,
      heartbeatMs: 25_000,
      disconnectDelayMs: 5_000,
      streamingBytesLimit: 131_072,
      clientUrl: undefined,
    });
  });

  test("reads every setting", () => {
    assert.deepEqual(
      sockjsConfigFromEnv({
        HERALD_SOCKJS: "off",
        HERALD_SOCKJS_COOKIE_NEEDED: "true",
        HERALD_SOCKJS_HEARTBEAT_MS: "1000",
        HERALD_SOCKJS_DISCONNECT_DELAY_MS: "2000",
        HERALD_SOCKJS_STREAM_BYTES_LIMIT: "64KiB",
        HERALD_SOCKJS_CLIENT_URL: "/vendor/sockjs.min.js",
      }),
      { enabled: false, cookieNeeded: true, heartbeatMs: 1000, disconnectDelayMs: 2000, streamingBytesLimit: 65_536, clientUrl: "/vendor/sockjs.min.js" },
    );
  });

  test("a bad value names its variable", () => {
    for (const [name, value] of [
      ["HERALD_SOCKJS", "maybe"],
      ["HERALD_SOCKJS_COOKIE_NEEDED", "2"],
      ["HERALD_SOCKJS_HEARTBEAT_MS", "0"],
      ["HERALD_SOCKJS_DISCONNECT_DELAY_MS", "soon"],
      ["HERALD_SOCKJS_STREAM_BYTES_LIMIT", "lots"],
    ] as const) {
      assert.throws(
        () => sockjsConfigFromEnv({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.includes(value),
        name,
      );
    }
  });
});

describe("frameToSockJsMessage", () => {
  test("a UTF-8 frame is its text", () => {
    const frame = Buffer.from("MESSAGE\ndestination:/topic/é\n\nhé ☃ 😀\0");
    assert.equal(frameToSockJsMessage(frame, false), "MESSAGE\ndestination:/topic/é\n\nhé ☃ 😀\0");
  });

  test("a frame with a non-UTF-8 body is one character per byte", () => {
    const bytes = Buffer.concat([Buffer.from("MESSAGE\n\n"), Buffer.from([0xff, 0x80, 0x00, 0xc3]), Buffer.from([0])]);
    const text = frameToSockJsMessage(bytes.subarray(0), true);
    assert.deepEqual(Array.from(text, (c) => c.charCodeAt(0)), [...bytes]);
  });
});

// In process: a real uWS app, a real EdgeNode on the in-process bus, the real sockjs-client.
describe("STOMP sessions over SockJS, in process", () => {
  const uws = loadUws();
  const app = uws.App();
  const config = edgeConfigFromEnv({ HERALD_HEARTBEAT_MS: "0,0" });
  const node = new EdgeNode({ config, bus: new LocalBus(), logger: createLogger({ level: "silent" }), registry: createRegistry() });
  const server = mountStompSockJs(app, node, config, sockjsConfigFromEnv({}));
  let listen: us_listen_socket;
  let url = "";

  before(async () => {
    listen = await new Promise<us_listen_socket>((resolve, reject) =>
      app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("cannot listen on 127.0.0.1")))),
    );
    url = `http://127.0.0.1:${uws.us_socket_local_port(listen)}/ws`;
  });
  after(() => {
    server?.close();
    node.close();
    uws.us_listen_socket_close(listen);
    // sockjs-client's HTTP transports use the keep-alive global agent: idle sockets would hold the process 5 s.
    globalAgent.destroy();
  });

  interface Sock {
    onopen: (() => void) | null;
    onmessage: ((e: { data: string }) => void) | null;
    onclose: ((e: { code: number; reason: string }) => void) | null;
    send(data: string): void;
    close(): void;
  }

  function open(transport: string): { sock: Sock; messages: string[]; opened: Promise<void>; closed: Promise<{ code: number; reason: string }>; next(): Promise<string> } {
    const sock = new SockJS(url, undefined, { transports: [transport] }) as unknown as Sock;
    const messages: string[] = [];
    let wake = () => {};
    sock.onmessage = (e) => {
      messages.push(e.data);
      wake();
    };
    return {
      sock,
      messages,
      opened: new Promise((resolve) => (sock.onopen = resolve)),
      closed: new Promise((resolve) => (sock.onclose = (e) => resolve({ code: e.code, reason: e.reason }))),
      async next() {
        const deadline = Date.now() + 5000;
        while (messages.length === 0) {
          if (Date.now() > deadline) throw new Error("no SockJS message within 5 s");
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 50);
          });
        }
        return messages.shift()!;
      },
    };
  }

  test("a client close ends the STOMP session", { timeout: 10_000 }, async () => {
    assert.ok(server, "SockJS is on by default");
    const c = open("xhr-streaming");
    await c.opened;
    c.sock.send("CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    assert.match(await c.next(), /^CONNECTED\nversion:1\.2\n/);
    assert.equal(node.connectionCount, 1);
    c.sock.close();
    await c.closed;
    const deadline = Date.now() + 3000;
    while (node.connectionCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(node.connectionCount, 0);
  });

  test("drain sends an ERROR saying so, then closes 1013", { timeout: 10_000 }, async () => {
    const c = open("websocket");
    await c.opened;
    c.sock.send("CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    assert.match(await c.next(), /^CONNECTED\n/);
    await node.drain(0);
    const error = await c.next();
    assert.match(error, /^ERROR\nmessage:server shutting down\n/);
    assert.match(error, /this node is draining; reconnect to another node\0$/);
    assert.deepEqual(await c.closed, { code: 1013, reason: "server shutting down" });
  });

  test("a draining node refuses new SockJS sessions with 1013", { timeout: 10_000 }, async () => {
    const c = open("xhr-polling");
    await c.opened;
    assert.deepEqual(await c.closed, { code: 1013, reason: "node is draining; connect to another node" });
  });
});
