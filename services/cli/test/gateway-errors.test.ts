import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RawStomp, frameText, connectStomp, Inbox } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_MAX_FRAME_BYTES: "4096", HERALD_CONNECT_TIMEOUT_MS: "400" } });
});
after(async () => {
  await herald.stop();
});

interface ErrorCase {
  name: string;
  /** Frames sent after a successful CONNECT (or instead of it when `raw` is set). */
  frames: string[];
  raw?: boolean;
  message: RegExp;
  detail?: RegExp;
  receiptId?: string;
  /** Other headers the ERROR must carry. */
  headers?: Record<string, string>;
  /** WebSocket subprotocols offered (default v12.stomp). */
  protocols?: string[];
}

const C = (headers: Record<string, string> = {}) => frameText("CONNECT", { "accept-version": "1.2", host: "h", ...headers });

const cases: ErrorCase[] = [
  { name: "first frame is not CONNECT", raw: true, frames: [frameText("SEND", { destination: "/topic/x" }, "hi")], message: /expected CONNECT/, detail: /got SEND/ },
  { name: "no common version", raw: true, frames: [C({ "accept-version": "2.0,3.1" })], message: /unsupported protocol version/, detail: /1\.0, 1\.1 and 1\.2/, headers: { version: "1.2" } },
  { name: "no common version, all subprotocols offered", raw: true, protocols: ["v10.stomp", "v11.stomp", "v12.stomp"], frames: [C({ "accept-version": "2.0" })], message: /unsupported protocol version/, headers: { version: "1.0,1.1,1.2" } },
  { name: "bad heart-beat header", raw: true, frames: [C({ "heart-beat": "soon" })], message: /invalid heart-beat/ },
  { name: "unknown command", raw: true, frames: ["HELLO\n\n\0"], message: /malformed frame: invalid-command/, detail: /HELLO/ },
  { name: "header line without colon", frames: ["SEND\ndestination /topic/x\n\nhi\0"], message: /malformed frame: invalid-header/ },
  { name: "frame over the size limit", frames: [frameText("SEND", { destination: "/topic/x" }, "x".repeat(5000))], message: /^frame too large$/ },
  { name: "bad content-length", frames: ["SEND\ndestination:/topic/x\ncontent-length:abc\n\nhi\0"], message: /malformed frame: invalid-content-length/ },
  { name: "undefined escape in 1.2", frames: ["SEND\ndestination:/topic/\\tx\n\nhi\0"], message: /malformed frame: invalid-escape/ },
  { name: "CONNECT twice", frames: [C()], message: /already connected/ },
  { name: "SUBSCRIBE without destination", frames: [frameText("SUBSCRIBE", { id: "1", receipt: "r9" })], message: /missing header: destination/, receiptId: "r9" },
  { name: "SUBSCRIBE without id", frames: [frameText("SUBSCRIBE", { destination: "/topic/x" })], message: /missing header: id/ },
  { name: "duplicate subscription id", frames: [frameText("SUBSCRIBE", { destination: "/topic/x", id: "s" }), frameText("SUBSCRIBE", { destination: "/topic/y", id: "s" })], message: /duplicate subscription id/, detail: /"s"/ },
  { name: "invalid ack mode", frames: [frameText("SUBSCRIBE", { destination: "/topic/x", id: "s", ack: "sometimes" })], message: /invalid ack mode/ },
  { name: "unknown destination prefix", frames: [frameText("SUBSCRIBE", { destination: "/exchange/x", id: "s" })], message: /invalid destination/, detail: /\/exchange\/x/ },
  { name: "subscribe to /app", frames: [frameText("SUBSCRIBE", { destination: "/app/sendMessage", id: "s" })], message: /invalid destination/ },
  { name: "dot-dot segment", frames: [frameText("SUBSCRIBE", { destination: "/topic/../user/bob/queue/x", id: "s" })], message: /invalid destination/, detail: /".." segment/ },
  { name: "user queue without a user", frames: [frameText("SUBSCRIBE", { destination: "/user/queue/notifications", id: "s" })], message: /access denied/, detail: /no authenticated user/ },
  { name: "another user's queue", frames: [frameText("SUBSCRIBE", { destination: "/user/bob/queue/notifications", id: "s" })], message: /access denied/ },
  { name: "UNSUBSCRIBE unknown id", frames: [frameText("UNSUBSCRIBE", { id: "nope" })], message: /unknown subscription/ },
  { name: "SEND without destination", frames: [frameText("SEND", {}, "x")], message: /missing header: destination/ },
  { name: "SEND to unknown /app destination", frames: [frameText("SEND", { destination: "/app/nothing-here", receipt: "r2" }, "x")], message: /unknown destination/, detail: /\/app\/nothing-here/, receiptId: "r2" },
  { name: "ACK without id", frames: [frameText("ACK", {})], message: /missing header: id/ },
  { name: "COMMIT of an unknown transaction", frames: [frameText("COMMIT", { transaction: "t1" })], message: /unknown transaction/ },
  { name: "BEGIN twice", frames: [frameText("BEGIN", { transaction: "t1" }), frameText("BEGIN", { transaction: "t1" })], message: /transaction already started/ },
  { name: "SEND in an unknown transaction", frames: [frameText("SEND", { destination: "/topic/x", transaction: "zz" }, "x")], message: /unknown transaction/ },
];

for (const c of cases) {
  test(`ERROR then close: ${c.name}`, async () => {
    const raw = c.raw ? await RawStomp.open(herald.wsUrl, c.protocols ? { protocols: c.protocols } : {}) : await RawStomp.connected(herald.wsUrl);
    for (const f of c.frames) raw.send(f);
    const err = await raw.next();
    assert.equal(err.command, "ERROR");
    assert.match(header(err, "message") ?? "", c.message);
    if (c.detail) assert.match(Buffer.from(err.body).toString(), c.detail);
    if (c.receiptId) assert.equal(header(err, "receipt-id"), c.receiptId);
    for (const [name, value] of Object.entries(c.headers ?? {})) assert.equal(header(err, name), value, `header ${name}`);
    await raw.whenClosed();
  });
}

test("a socket that never sends CONNECT is closed after the CONNECT timeout", async () => {
  const raw = await RawStomp.open(herald.wsUrl);
  const err = await raw.next(2000);
  assert.equal(err.command, "ERROR");
  assert.match(header(err, "message") ?? "", /CONNECT timeout/);
  await raw.whenClosed();
});

test("misbehaving clients do not disturb others on the node", async () => {
  const good = await connectStomp(herald.wsUrl);
  const inbox = new Inbox();
  await new Promise<void>((resolve) => {
    good.watchForReceipt("ready", () => resolve());
    good.subscribe("/topic/steady", inbox.push, { receipt: "ready" });
  });
  // A burst of bad clients, in parallel.
  await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const raw = await RawStomp.connected(herald.wsUrl);
      raw.send(i % 2 ? "GARBAGE\n\n\0" : frameText("SEND", { destination: "/topic/steady" }, "x".repeat(10_000)));
      await raw.whenClosed();
    }),
  );
  good.publish({ destination: "/topic/steady", body: "still here" });
  const [m] = await inbox.waitFor(1);
  assert.equal(m!.body, "still here");
  await good.deactivate();
});
