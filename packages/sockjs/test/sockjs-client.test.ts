// The real sockjs-client (its Node build) against the conformance server, for every
// transport it supports outside a browser: websocket, xhr-streaming, xhr-polling, eventsource.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import SockJS from "sockjs-client";
import { startConformanceServer, type ConformanceServer } from "../src/index.js";

let server: ConformanceServer;
let top = "";

before(async () => {
  server = await startConformanceServer({ port: 0 });
  top = `http://127.0.0.1:${server.port}`;
});
after(() => server.close());

interface Client {
  sock: WebSocket;
  opened: Promise<void>;
  messages: string[];
  nextMessages(n: number): Promise<string[]>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, transports?: string[]): Client {
  const sock = new SockJS(url, undefined, transports ? { transports } : {}) as unknown as WebSocket;
  const messages: string[] = [];
  let wake: () => void = () => {};
  const client: Client = {
    sock,
    messages,
    opened: new Promise((resolve, reject) => {
      sock.onopen = () => resolve();
      sock.onerror = () => reject(new Error(`sockjs-client error on ${url}`));
    }),
    closed: new Promise((resolve) => {
      sock.onclose = (e) => {
        resolve({ code: e.code, reason: e.reason });
        wake();
      };
    }),
    async nextMessages(n) {
      const deadline = Date.now() + 5000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out: ${messages.length}/${n} messages`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return messages.splice(0, n);
    },
  };
  sock.onmessage = (e: MessageEvent) => {
    messages.push(String(e.data));
    wake();
  };
  return client;
}

const TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling", "eventsource"];

describe("sockjs-client in Node", () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: echo round trip, then a clean close`, async () => {
      const c = connect(top + "/echo", [transport]);
      await c.opened;
      const tricky = 'hello "world" \u2028 \u0000 é ☃ 😀';
      c.sock.send(tricky);
      assert.deepEqual(await c.nextMessages(1), [tricky]);
      c.sock.close();
      assert.equal((await c.closed).code, 1000);
    });

    test(`${transport}: many messages in order across the 4 KiB streaming limit`, async () => {
      const c = connect(top + "/echo", [transport]);
      await c.opened;
      const sent = Array.from({ length: 40 }, (_, i) => `${i}:` + "x".repeat(200));
      for (const m of sent) c.sock.send(m);
      assert.deepEqual(await c.nextMessages(sent.length), sent);
      c.sock.close();
      await c.closed;
    });

    test(`${transport}: server close with 3000 "Go away!"`, async () => {
      const c = connect(top + "/close", [transport]);
      await c.opened;
      assert.deepEqual(await c.closed, { code: 3000, reason: "Go away!" });
    });
  }

  test("without websocket on the server the client falls back to a streaming transport", async () => {
    const c = connect(top + "/disabled_websocket_echo");
    await c.opened;
    assert.notEqual((c.sock as unknown as { transport: string }).transport, "websocket");
    c.sock.send("fallback");
    assert.deepEqual(await c.nextMessages(1), ["fallback"]);
    c.sock.close();
    await c.closed;
  });

  test("with the cookie service the session still works (JSESSIONID)", async () => {
    const c = connect(top + "/cookie_needed_echo", ["xhr-polling"]);
    await c.opened;
    c.sock.send("with cookie");
    assert.deepEqual(await c.nextMessages(1), ["with cookie"]);
    c.sock.close();
    await c.closed;
  });
});
