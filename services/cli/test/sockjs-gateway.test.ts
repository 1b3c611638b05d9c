// STOMP over SockJS against the real gateway process, with the clients Spring apps
// use: sockjs-client (its Node build) + classic stompjs 2.x `Stomp.over(sock)`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import SockJS from "sockjs-client";
import { Inbox, RawStomp, connectStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

// ---- classic stompjs (no type declarations of its own) ------------------------

interface ClassicFrame {
  command: string;
  headers: Record<string, string>;
  body: string;
}
interface ClassicClient {
  heartbeat: { outgoing: number; incoming: number };
  debug: ((msg: string) => void) | null;
  connected: boolean;
  onreceipt: ((frame: ClassicFrame) => void) | undefined;
  connect(headers: Record<string, string>, onConnect: (frame: ClassicFrame) => void, onError?: (error: ClassicFrame | string) => void): void;
  subscribe(destination: string, callback: (message: ClassicFrame) => void, headers?: Record<string, string>): { id: string; unsubscribe(): void };
  send(destination: string, headers?: Record<string, string>, body?: string): void;
  disconnect(callback?: () => void): void;
}
interface ClassicStomp {
  over(socket: unknown): ClassicClient;
}
const Stomp = createRequire(import.meta.url)("stompjs") as ClassicStomp;

/** What sockjs-client exposes beyond the WebSocket-like API. */
interface SockJsSocket {
  readonly transport: string | null;
  readonly _transport: { transportName: string } | null;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  close(): void;
}

interface ClassicSession {
  sock: SockJsSocket;
  client: ClassicClient;
  connected: ClassicFrame;
  /** SockJS "h" frames seen by sockjs-client. */
  sockjsHeartbeats: number;
  /** STOMP heart-beats (a lone EOL) seen as SockJS messages. */
  stompHeartbeats: number;
  errors: Array<ClassicFrame | string>;
}

const TIMEOUT_MS = 8000;

function withTimeout<T>(p: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** `new SockJS(url)` + `Stomp.over(socket)` + `connect({}, …)`, as the Spring snippet does. */
async function connectClassic(url: string, opts: { transports?: string[]; heartbeat?: { outgoing: number; incoming: number } } = {}): Promise<ClassicSession> {
  const sock = new SockJS(url, undefined, opts.transports ? { transports: opts.transports } : {}) as unknown as SockJsSocket;
  const client = Stomp.over(sock);
  client.debug = null;
  if (opts.heartbeat) client.heartbeat = opts.heartbeat;
  const session: Omit<ClassicSession, "connected"> & { connected?: ClassicFrame } = { sock, client, sockjsHeartbeats: 0, stompHeartbeats: 0, errors: [] };
  sock.addEventListener("heartbeat", () => session.sockjsHeartbeats++);
  sock.addEventListener("message", (e) => {
    if (e.data === "\n") session.stompHeartbeats++;
  });
  session.connected = await withTimeout(
    new Promise<ClassicFrame>((resolve, reject) => {
      client.connect({}, resolve, (error) => {
        session.errors.push(error);
        reject(new Error(`connect failed: ${typeof error === "string" ? error : `${error.headers["message"]} ${error.body}`}`));
      });
    }),
    `CONNECTED over ${opts.transports?.join(",") ?? "sockjs"}`,
  );
  return session as ClassicSession;
}

/** Subscribes and waits for the receipt, so later sends are sure to be seen. */
function subscribeConfirmed(c: ClassicClient, destination: string, onMessage: (m: ClassicFrame) => void): Promise<void> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  return withTimeout(
    new Promise<void>((resolve) => {
      c.onreceipt = (f) => {
        if (f.headers["receipt-id"] === receipt) resolve();
      };
      c.subscribe(destination, onMessage, { receipt });
    }),
    `the receipt of SUBSCRIBE ${destination}`,
  );
}

function collect(): { messages: ClassicFrame[]; push: (m: ClassicFrame) => void; waitFor: (n: number) => Promise<ClassicFrame[]> } {
  const messages: ClassicFrame[] = [];
  let wake = () => {};
  return {
    messages,
    push: (m) => {
      messages.push(m);
      wake();
    },
    waitFor: (n) =>
      withTimeout(
        (async () => {
          while (messages.length < n) await new Promise<void>((r) => (wake = r));
          return messages;
        })(),
        `${n} message(s)`,
      ),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The Node build of sockjs-client supports these four; htmlfile, jsonp and iframe need a browser.
const NODE_TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling", "eventsource"] as const;

describe("STOMP over SockJS, default settings", () => {
  let herald: HeraldProcess;
  let sockjsUrl = "";
  before(async () => {
    // Short SockJS heart-beats so the tests can see them (and their absence) within a second.
    herald = await HeraldProcess.start({ env: { HERALD_HEARTBEAT_MS: "150,150", HERALD_SOCKJS_HEARTBEAT_MS: "150", HERALD_DRAIN_WINDOW_MS: "0" } });
    sockjsUrl = `${herald.httpUrl}/ws`;
  });
  after(async () => {
    await herald.stop();
  });

  for (const transport of NODE_TRANSPORTS) {
    test(`${transport}: the Spring snippet receives its own message from /app/sendMessage`, { timeout: 15_000 }, async () => {
      const { sock, client, connected } = await connectClassic(sockjsUrl, { transports: [transport] });
      assert.equal(sock.transport, transport);
      assert.equal(sock._transport?.transportName, transport);
      assert.equal(connected.headers["version"], "1.1", "classic stompjs offers 1.1,1.0");
      const text = `Hello, WebSocket! via ${transport}`;
      const own = await withTimeout(
        new Promise<ClassicFrame>((resolve) => {
          client.subscribe("/topic/messages", (response) => {
            if (response.body === text) resolve(response);
          });
          client.send("/app/sendMessage", {}, text);
        }),
        "own message",
      );
      assert.equal(own.headers["destination"], "/topic/messages");
      assert.match(own.headers["message-id"] ?? "", /\S/);
      assert.equal(own.headers["subscription"], "sub-0");
      client.disconnect();
    });
  }

  test("unicode bodies survive SockJS's JSON framing both ways", { timeout: 15_000 }, async () => {
    const { client } = await connectClassic(sockjsUrl, { transports: ["xhr-streaming"] });
    const inbox = collect();
    await subscribeConfirmed(client, "/topic/sockjs-unicode", inbox.push);
    // No NUL: classic stompjs splits frames on NUL before it reads content-length.
    const text = 'é ☃ 😀 "quoted" \\ \u2028 </script>';
    client.send("/topic/sockjs-unicode", { "content-type": "text/plain;charset=UTF-8" }, text);
    const [m] = await inbox.waitFor(1);
    assert.equal(m!.body, text);
    assert.equal(m!.headers["content-length"], String(Buffer.byteLength(text)));
    client.disconnect();
  });

  test("a raw-WebSocket @stomp/stompjs client and a SockJS client see each other's messages", { timeout: 15_000 }, async () => {
    const raw = await connectStomp(herald.wsUrl);
    const rawInbox = new Inbox();
    await new Promise<void>((resolve) => {
      raw.watchForReceipt("raw-sub", () => resolve());
      raw.subscribe("/topic/messages", rawInbox.push, { receipt: "raw-sub" });
    });
    const { client } = await connectClassic(sockjsUrl, { transports: ["xhr-streaming"] });
    const sockInbox = collect();
    await subscribeConfirmed(client, "/topic/messages", sockInbox.push);

    client.send("/app/sendMessage", {}, "from SockJS");
    raw.publish({ destination: "/app/sendMessage", body: "from raw WebSocket" });

    const rawGot = (await rawInbox.waitFor(2)).map((m) => m.body).sort();
    const sockGot = (await sockInbox.waitFor(2)).map((m) => m.body).sort();
    assert.deepEqual(rawGot, ["from SockJS", "from raw WebSocket"]);
    assert.deepEqual(sockGot, ["from SockJS", "from raw WebSocket"]);
    client.disconnect();
    await raw.deactivate();
  });

  test("a body that is not UTF-8 reaches a SockJS client latin1-decoded: one character per byte", { timeout: 15_000 }, async () => {
    const { client } = await connectClassic(sockjsUrl, { transports: ["websocket"] });
    const inbox = collect();
    await subscribeConfirmed(client, "/topic/sockjs-binary", inbox.push);
    const publisher = await RawStomp.connected(herald.wsUrl);
    const body = Buffer.from([0xff, 0xfe, 0x80, 0x41, 0xc3, 0x28, 0x0a]); // invalid UTF-8, no NUL
    const head = Buffer.from("SEND\ndestination:/topic/sockjs-binary\ncontent-type:application/octet-stream\ncontent-length:7\nreceipt:bin\n\n");
    publisher.send(Buffer.concat([head, body, Buffer.from([0])]));
    assert.equal((await publisher.next()).command, "RECEIPT");
    const [m] = await inbox.waitFor(1);
    assert.deepEqual(
      Array.from(m!.body, (c) => c.charCodeAt(0)),
      [...body],
      "charCodeAt gives back the original bytes",
    );
    assert.equal(m!.headers["content-length"], "7");
    assert.equal(m!.headers["content-type"], "application/octet-stream");
    client.disconnect();
    publisher.close();
  });

  test("SockJS heart-beats are off while STOMP heart-beats flow from the server", { timeout: 15_000 }, async () => {
    const s = await connectClassic(sockjsUrl, { transports: ["xhr-streaming"], heartbeat: { outgoing: 150, incoming: 150 } });
    assert.equal(s.connected.headers["heart-beat"], "150,150");
    const before = { sockjs: s.sockjsHeartbeats, stomp: s.stompHeartbeats };
    await sleep(1200);
    assert.ok(s.stompHeartbeats - before.stomp >= 4, `expected STOMP heart-beats every 150 ms, got ${s.stompHeartbeats - before.stomp} in 1.2 s`);
    assert.equal(s.sockjsHeartbeats - before.sockjs, 0, "no SockJS h frames once STOMP heart-beats are negotiated");
    assert.equal(s.client.connected, true);
    s.client.disconnect();
  });

  test("SockJS heart-beats keep an idle stream alive when STOMP heart-beats are 0,0", { timeout: 15_000 }, async () => {
    const s = await connectClassic(sockjsUrl, { transports: ["xhr-streaming"], heartbeat: { outgoing: 0, incoming: 0 } });
    assert.equal(s.connected.headers["heart-beat"], "0,0");
    const before = { sockjs: s.sockjsHeartbeats, stomp: s.stompHeartbeats };
    await sleep(1200);
    assert.ok(s.sockjsHeartbeats - before.sockjs >= 4, `expected SockJS h frames every 150 ms, got ${s.sockjsHeartbeats - before.sockjs} in 1.2 s`);
    assert.equal(s.stompHeartbeats - before.stomp, 0, "no STOMP heart-beats were negotiated");
    s.client.disconnect();
  });

  test("an ERROR frame reaches the SockJS client, then the session closes", { timeout: 15_000 }, async () => {
    const sock = new SockJS(sockjsUrl, undefined, { transports: ["xhr-polling"] }) as unknown as SockJsSocket;
    const client = Stomp.over(sock);
    client.debug = null;
    let close: { code?: unknown; reason?: unknown } | undefined;
    sock.addEventListener("close", (e) => (close = e as { code?: unknown; reason?: unknown }));
    // Classic stompjs reports ERROR frames and the lost connection through connect's error callback.
    const seen = await withTimeout(
      new Promise<Array<ClassicFrame | string>>((resolve) => {
        const seen: Array<ClassicFrame | string> = [];
        client.connect(
          {},
          () => client.subscribe("/app/sendMessage", () => {}),
          (e) => {
            seen.push(e);
            if (typeof e === "string") resolve(seen);
          },
        );
      }),
      "ERROR, then the close",
    );
    const error = seen[0];
    assert.ok(typeof error !== "string" && error !== undefined, `expected an ERROR frame first, got ${JSON.stringify(seen)}`);
    assert.equal(error.command, "ERROR");
    assert.equal(error.headers["message"], "invalid destination");
    assert.match(error.body, /cannot subscribe to application destination/);
    assert.equal(close?.code, 1000);
    assert.equal(close?.reason, "invalid destination");
  });

  test("the raw SockJS websocket (/ws/websocket) negotiates STOMP subprotocols like /ws", { timeout: 15_000 }, async () => {
    const raw = await RawStomp.open(`${herald.wsUrl}/websocket`, { protocols: ["v11.stomp", "v10.stomp"] });
    assert.equal(raw.ws.protocol, "v11.stomp");
    raw.send(frameText("CONNECT", { "accept-version": "1.2,1.1,1.0", host: "h", "heart-beat": "0,0" }));
    const connected = await raw.next();
    assert.equal(connected.command, "CONNECTED");
    assert.equal(header(connected, "version"), "1.1", "the subprotocol bounds the version");
    raw.close();
  });

  test("the framed SockJS websocket selects v12.stomp when offered", { timeout: 15_000 }, async () => {
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`${herald.wsUrl}/000/${Math.random().toString(36).slice(2)}/websocket`, ["v12.stomp", "v11.stomp"]);
    const frames: string[] = [];
    ws.on("message", (d: Buffer) => frames.push(d.toString()));
    await withTimeout(new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject))), "websocket open");
    assert.equal(ws.protocol, "v12.stomp");
    ws.send(JSON.stringify([frameText("CONNECT", { "accept-version": "1.2", host: "h", "heart-beat": "0,0" })]));
    await withTimeout(
      (async () => {
        while (!frames.some((f) => f.startsWith("a["))) await sleep(20);
      })(),
      "CONNECTED",
    );
    assert.equal(frames[0], "o");
    const messages = JSON.parse(frames.find((f) => f.startsWith("a["))!.slice(1)) as string[];
    assert.match(messages[0]!, /^CONNECTED\nversion:1\.2\n/);
    ws.close();
  });
});

// ---- HTTP-level checks with restricted origins, the cookie and a connection limit ----

async function xhr(base: string, path: string, init: { origin?: string; body?: string } = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { ...(init.origin ? { origin: init.origin } : {}), "content-type": "text/plain" },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** Polls an xhr session until a close frame (c[...]) or an array frame matching `until`. */
async function pollUntil(base: string, session: string, origin: string, until: (frame: string) => boolean): Promise<string[]> {
  const frames: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await xhr(base, `/ws/000/${session}/xhr`, { origin });
    const text = (await r.text()).trim();
    frames.push(text);
    if (until(text)) return frames;
  }
  throw new Error(`no matching frame in ${JSON.stringify(frames)}`);
}

describe("STOMP over SockJS with HERALD_ALLOWED_ORIGINS, cookie and connection limit", () => {
  const good = "https://good.example";
  let herald: HeraldProcess;
  before(async () => {
    herald = await HeraldProcess.start({
      env: { HERALD_ALLOWED_ORIGINS: good, HERALD_SOCKJS_COOKIE_NEEDED: "true", HERALD_MAX_CONNECTIONS: "1", HERALD_DRAIN_WINDOW_MS: "0" },
    });
  });
  after(async () => {
    await herald.stop();
  });

  test("info says cookie_needed; a foreign origin gets 403; JSONP is off", async () => {
    const ok = await fetch(`${herald.httpUrl}/ws/info`, { headers: { origin: good } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), good);
    const info = (await ok.json()) as { cookie_needed: boolean; websocket: boolean };
    assert.equal(info.cookie_needed, true);
    assert.equal(info.websocket, true);
    const evil = await fetch(`${herald.httpUrl}/ws/info`, { headers: { origin: "https://evil.example" } });
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    const jsonp = await fetch(`${herald.httpUrl}/ws/000/jp/jsonp?c=cb`, { headers: { origin: good } });
    assert.equal(jsonp.status, 403, "JSONP cannot be origin-checked, so it is off with a list of origins");
    await jsonp.body?.cancel();
  });

  test("the edge's origin rule applies too: the gateway's own origin is not listed, so the session is closed 1008", async () => {
    const own = herald.httpUrl;
    const frames = await pollUntil(herald.httpUrl, "own-origin", own, (f) => f.startsWith("c["));
    assert.equal(frames[0], "o");
    assert.deepEqual(JSON.parse(frames.at(-1)!.slice(1)), [1008, `origin ${own} is not allowed`]);
  });

  test("an allowed origin gets a STOMP session with a JSESSIONID cookie; the node's limit closes the next one 1013", async () => {
    const open = await xhr(herald.httpUrl, "/ws/000/first/xhr", { origin: good });
    assert.equal((await open.text()).trim(), "o");
    assert.match(open.headers.get("set-cookie") ?? "", /JSESSIONID=/);
    const sent = await xhr(herald.httpUrl, "/ws/000/first/xhr_send", {
      origin: good,
      body: JSON.stringify([frameText("CONNECT", { "accept-version": "1.2", host: "h", "heart-beat": "0,0" })]),
    });
    assert.equal(sent.status, 204);
    const frames = await pollUntil(herald.httpUrl, "first", good, (f) => f.startsWith("a["));
    const [connected] = JSON.parse(frames.at(-1)!.slice(1)) as string[];
    assert.match(connected!, /^CONNECTED\nversion:1\.2\n/);

    const refused = await pollUntil(herald.httpUrl, "second", good, (f) => f.startsWith("c["));
    assert.deepEqual(JSON.parse(refused.at(-1)!.slice(1)), [1013, "node is at its limit of 1 connections"]);
  });
});

describe("HERALD_SOCKJS=false", () => {
  let herald: HeraldProcess;
  before(async () => {
    herald = await HeraldProcess.start({ env: { HERALD_SOCKJS: "false", HERALD_DRAIN_WINDOW_MS: "0" } });
  });
  after(async () => {
    await herald.stop();
  });

  test("no SockJS endpoint; the raw STOMP WebSocket still works", async () => {
    const info = await fetch(`${herald.httpUrl}/ws/info`);
    assert.equal(info.status, 404);
    await info.body?.cancel();
    const client = await connectStomp(herald.wsUrl);
    assert.equal(client.connected, true);
    await client.deactivate();
  });
});
