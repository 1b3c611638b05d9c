import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connectStomp, Inbox, RawStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_HEARTBEAT_MS: "200,200" } });
});
after(async () => {
  await herald.stop();
});

test("two subscribers receive what a third sends to /app/sendMessage, with exact body and headers", async () => {
  const [a, b, c] = await Promise.all([connectStomp(herald.wsUrl), connectStomp(herald.wsUrl), connectStomp(herald.wsUrl)]);
  const ia = new Inbox();
  const ib = new Inbox();
  const receipts: string[] = [];
  a.subscribe("/topic/messages", ia.push, { id: "main" });
  b.subscribe("/topic/messages", ib.push, { id: "chat" });
  // A receipt on SUBSCRIBE proves the subscription is in place before we send.
  await new Promise<void>((resolve) => {
    a.watchForReceipt("s-a", () => resolve());
    a.subscribe("/topic/other", () => {}, { receipt: "s-a" });
  });
  await new Promise<void>((resolve) => {
    b.watchForReceipt("s-b", () => resolve());
    b.subscribe("/topic/other", () => {}, { receipt: "s-b" });
  });
  c.watchForReceipt("r-1", (f) => receipts.push(f.headers["receipt-id"]!));
  c.publish({ destination: "/app/sendMessage", body: "Hello, WebSocket! ünïcödé", headers: { receipt: "r-1", "content-type": "text/plain;charset=UTF-8" } });
  const [ma] = await ia.waitFor(1);
  const [mb] = await ib.waitFor(1);
  for (const [m, sub] of [[ma!, "main"], [mb!, "chat"]] as const) {
    assert.equal(m.body, "Hello, WebSocket! ünïcödé");
    assert.equal(m.headers["destination"], "/topic/messages");
    assert.equal(m.headers["subscription"], sub);
    assert.equal(m.headers["content-type"], "text/plain;charset=UTF-8");
    assert.equal(m.headers["content-length"], String(Buffer.byteLength("Hello, WebSocket! ünïcödé")));
    assert.match(m.headers["message-id"]!, /\S+/);
  }
  assert.equal(ma!.headers["message-id"], mb!.headers["message-id"], "one message, one id");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(receipts, ["r-1"]);
  await Promise.all([a, b, c].map((x) => x.deactivate()));
});

test("heart-beats keep an idle connection open", async () => {
  const client = await connectStomp(herald.wsUrl, { heartbeatIncoming: 200, heartbeatOutgoing: 200 });
  let closed = false;
  client.onWebSocketClose = () => (closed = true);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(closed, false);
  assert.equal(client.connected, true);
  await client.deactivate();
});

test("a client that goes silent after negotiating heart-beats is closed", async () => {
  const raw = await RawStomp.open(herald.wsUrl);
  raw.send(frameText("CONNECT", { "accept-version": "1.2", host: "h", "heart-beat": "200,200" }));
  const connected = await raw.next();
  assert.equal(connected.command, "CONNECTED");
  assert.equal(header(connected, "heart-beat"), "200,200");
  const t0 = Date.now();
  await raw.whenClosed(3000);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 350, `closed after ${elapsed} ms, before twice the interval`);
  assert.ok(raw.heartbeats > 0, "the server sent heart-beats while waiting");
});

test("the server's heart-beats are EOLs at the negotiated rate", async () => {
  const raw = await RawStomp.open(herald.wsUrl);
  raw.send(frameText("CONNECT", { "accept-version": "1.2", host: "h", "heart-beat": "0,300" }));
  assert.equal(header(await raw.next(), "heart-beat"), "300,0");
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(raw.heartbeats >= 2 && raw.heartbeats <= 5, `got ${raw.heartbeats} heart-beats in 1 s at 300 ms`);
  assert.equal(raw.closeCode, undefined, "no heart-beat expected from the client, so it stays open");
  raw.close();
});
