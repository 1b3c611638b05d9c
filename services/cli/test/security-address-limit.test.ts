// HERALD_MAX_CONNECTIONS_PER_ADDRESS counted when the transport opens (WebSocket
// upgrade, SockJS session open), so sockets that never send CONNECT hold their slot;
// and HERALD_TRUSTED_PROXIES: behind a trusted proxy the X-Forwarded-For address is
// the one limited, from anyone else the header is ignored. One real Herald; clients
// dial from loopback addresses of their own (127.0.0.2, …); 127.0.0.1 plays the proxy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric } from "./security-helpers.js";

const LIMIT = 2;
let herald: HeraldProcess;
const open: Array<{ close(): void }> = [];

before(async () => {
  herald = await HeraldProcess.start({
    env: {
      HERALD_MAX_CONNECTIONS_PER_ADDRESS: String(LIMIT),
      HERALD_TRUSTED_PROXIES: "127.0.0.1",
      // Long enough that no socket of these tests is closed for its silence.
      HERALD_CONNECT_TIMEOUT_MS: "60000",
      HERALD_SOCKJS_DISCONNECT_DELAY_MS: "200",
      LOG_LEVEL: "info",
    },
  });
});
after(async () => {
  for (const s of open) s.close();
  await herald?.stop();
});

const rejections = () => metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connections-per-address" });

/** A raw STOMP WebSocket that never sends CONNECT. */
async function raw(localAddress: string, headers: Record<string, string | string[]> = {}): Promise<Peer> {
  const p = await Peer.open(herald.wsUrl, { localAddress, headers });
  open.push(p);
  return p;
}

/** The refusal a STOMP client can show: the socket opens, an ERROR frame says why, the socket closes. */
async function assertRefused(p: Peer): Promise<void> {
  const err = await p.next();
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "too many connections from your address");
  assert.match(bodyOf(err), new RegExp(`at most ${LIMIT} connections from one address`));
  assert.equal(await p.whenClosed(), 1008);
}

/** No frame and no close: the socket is still held open by the server. */
async function assertHeld(...peers: Peer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.quietFor(150)));
  for (const p of peers) assert.equal(p.closeCode, undefined, "still open");
}

async function closeAndForget(p: { close(): void; whenClosed(): Promise<unknown> }): Promise<void> {
  p.close();
  await p.whenClosed();
  await new Promise((r) => setTimeout(r, 100)); // the server's close handler runs after the client's
}

test("/ws: the N+1-th socket from one address is refused at open, CONNECT or not; closing one frees a slot", async () => {
  const before = await rejections();
  const first = await raw("127.0.0.2");
  const second = await raw("127.0.0.2");
  const third = await raw("127.0.0.2");
  await assertRefused(third);
  await assertHeld(first, second);
  assert.equal(await rejections(), before + 1);
  // Another address has its own slots.
  const elsewhere = await Peer.connected(herald.wsUrl, {}, { localAddress: "127.0.0.3" });
  open.push(elsewhere);
  await closeAndForget(first);
  const { reply } = await Peer.connect(herald.wsUrl, {}, { localAddress: "127.0.0.2" }).then((r) => (open.push(r.peer), r));
  assert.equal(reply.command, "CONNECTED");
  assert.equal(await rejections(), before + 1);
  for (const p of [second, elsewhere]) await closeAndForget(p);
});

/** One SockJS session over its websocket transport: SockJS frames as text ("o", "a[…]", "c[…]"). */
class SockJsSocket {
  readonly frames: string[] = [];
  closeCode: number | undefined;
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (d: Buffer) => this.frames.push(d.toString()));
    ws.on("close", (code) => (this.closeCode = code));
  }
  static open(localAddress: string): Promise<SockJsSocket> {
    const ws = new WebSocket(`${herald.wsUrl}/000/${randomBytes(6).toString("hex")}/websocket`, { localAddress });
    const s = new SockJsSocket(ws);
    open.push(s);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(s));
      ws.once("error", reject);
    });
  }
  async until(pred: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + 3000; !pred(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.frames)}`);
    }
  }
  close(): void {
    this.ws.terminate();
  }
  whenClosed(): Promise<void> {
    return this.until(() => this.closeCode !== undefined, "close");
  }
}

/** An xhr-streaming SockJS session: the body as it arrives. */
function xhrStreaming(localAddress: string, headers: Record<string, string> = {}): { text: () => string; until(pred: (t: string) => boolean): Promise<void>; close(): void } {
  let body = "";
  const req = http.request(`${herald.httpUrl}/ws/000/${randomBytes(6).toString("hex")}/xhr_streaming`, { method: "POST", localAddress, headers, agent: false }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (c: string) => (body += c));
  });
  req.on("error", () => {});
  req.end();
  const s = {
    text: () => body,
    async until(pred: (t: string) => boolean) {
      for (const deadline = Date.now() + 3000; !pred(body); await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() > deadline) throw new Error(`timed out; stream so far: ${JSON.stringify(body.replace(/^h+\n/, ""))}`);
      }
    },
    close: () => req.destroy(),
  };
  open.push(s);
  return s;
}

test("SockJS: sessions hold a slot from open (websocket and HTTP transports alike); the refused one reads an ERROR", async () => {
  const before = await rejections();
  const ws = await SockJsSocket.open("127.0.0.4");
  await ws.until(() => ws.frames[0] === "o", "the open frame");
  const stream = xhrStreaming("127.0.0.4");
  await stream.until((t) => /\no\n/.test(t));
  const refused = xhrStreaming("127.0.0.4");
  await refused.until((t) => /^c\[1008,/m.test(t));
  assert.match(refused.text(), /a\["ERROR\\nmessage:too many connections from your address\\n/);
  assert.match(refused.text(), new RegExp(`at most ${LIMIT} connections from one address`));
  assert.equal(await rejections(), before + 1);
  // The held ones got nothing but their open frame.
  assert.deepEqual(ws.frames, ["o"]);
  assert.doesNotMatch(stream.text(), /\na\[|\nc\[/);
  // The websocket session's slot comes back when it closes.
  await closeAndForget(ws);
  const again = await SockJsSocket.open("127.0.0.4");
  await again.until(() => again.frames.length > 0, "a frame");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(again.frames, ["o"]);
  again.close();
  stream.close();
});

test("behind a trusted proxy each X-Forwarded-For address has its own quota; the proxy's own address none of them", async () => {
  const before = await rejections();
  const viaProxy = (client: string) => raw("127.0.0.1", { "x-forwarded-for": client });
  const a = [await viaProxy("203.0.113.1"), await viaProxy("203.0.113.1")];
  await assertRefused(await viaProxy("203.0.113.1"));
  // A second client through the same proxy is not affected, and neither is the proxy's own quota.
  const b = [await viaProxy("203.0.113.2"), await viaProxy("198.51.100.7, 203.0.113.2")];
  await assertRefused(await viaProxy("203.0.113.2"));
  // HAProxy appends its own header after one the client sent: the last one is the proxy's.
  await assertRefused(await raw("127.0.0.1", { "x-forwarded-for": ["203.0.113.99", "203.0.113.1"] }));
  // SockJS reads the header of the request that opens the session.
  const sockjs = xhrStreaming("127.0.0.1", { "x-forwarded-for": "203.0.113.1" });
  await sockjs.until((t) => /^c\[1008,/m.test(t));
  assert.match(sockjs.text(), /too many connections from your address/);
  const own = await raw("127.0.0.1");
  await assertHeld(...a, ...b, own);
  assert.equal(await rejections(), before + 4);
  // Limits and logs name the client, not the proxy.
  assert.match(herald.output, /"remoteAddress":"203\.0\.113\.1".*too many connections from this address/);
  for (const p of [...a, ...b, own]) await closeAndForget(p);
  const freed = await viaProxy("203.0.113.1");
  await assertHeld(freed);
  await closeAndForget(freed);
});

test("a forged X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
  const before = await rejections();
  // 203.0.113.3 is full behind the proxy…
  const behindProxy = [await raw("127.0.0.1", { "x-forwarded-for": "203.0.113.3" }), await raw("127.0.0.1", { "x-forwarded-for": "203.0.113.3" })];
  // …yet 127.0.0.5 claiming to be it is counted as 127.0.0.5, whatever it claims.
  const forged = [await raw("127.0.0.5", { "x-forwarded-for": "203.0.113.3" }), await raw("127.0.0.5", { "x-forwarded-for": "203.0.113.4" })];
  await assertHeld(...behindProxy, ...forged);
  await assertRefused(await raw("127.0.0.5", { "x-forwarded-for": "203.0.113.5" }));
  assert.equal(await rejections(), before + 1);
  assert.match(herald.output, /"remoteAddress":"127\.0\.0\.5".*too many connections from this address/);
  for (const p of [...behindProxy, ...forged]) await closeAndForget(p);
});
