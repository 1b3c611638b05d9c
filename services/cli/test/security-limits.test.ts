import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, publish, signJwt } from "./security-helpers.js";

// One node with every limit set low. Each test has an offender that must get its
// ERROR (or 503), and the bystander, connected for the whole file from
// 127.0.0.1, must keep receiving. Offenders dial from other loopback addresses
// (127.0.0.2, …) where the per-address limit is in play.
const SECRET = randomBytes(32).toString("hex");
const LIMITS = {
  HERALD_MAX_CONNECTIONS: "8",
  HERALD_MAX_CONNECTIONS_PER_USER: "2",
  HERALD_MAX_CONNECTIONS_PER_ADDRESS: "3",
  HERALD_SEND_RATE: "5",
  HERALD_SEND_BURST: "5",
  HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION: "3",
  HERALD_MAX_FRAME_BYTES: "2048",
  HERALD_CONNECT_TIMEOUT_MS: "500",
};

let herald: HeraldProcess;
let bystander: Peer;
const open: Peer[] = [];
let seq = 0;

const token = (sub: string) => signJwt({ sub, exp: nowSec() + 300 }, SECRET);
async function as(sub: string, localAddress?: string): Promise<Peer> {
  const p = await Peer.connected(herald.wsUrl, { passcode: await token(sub) }, localAddress ? { localAddress } : {});
  open.push(p);
  return p;
}

async function bystanderStillServed(): Promise<void> {
  const body = `still here ${++seq}`;
  await publish(herald.httpUrl, { destination: "/topic/bystander", body });
  const m = await bystander.next();
  assert.equal(m.command, "MESSAGE");
  assert.equal(bodyOf(m), body);
}

/** Closes every offender and waits until the node has forgotten them. */
async function closeAll(): Promise<void> {
  for (const p of open.splice(0)) p.close();
  for (const p of open) await p.whenClosed();
  const deadline = Date.now() + 3000;
  while ((await metric(herald.httpUrl, "herald_connections")) > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_JWT_SECRET: SECRET, HERALD_ACL_FILE: "", LOG_LEVEL: "info", ...LIMITS } });
  bystander = await Peer.connected(herald.wsUrl, { passcode: await token("bystander") });
  assert.equal((await bystander.subscribe("/topic/bystander", "b")).command, "RECEIPT");
});
after(async () => {
  bystander?.close();
  for (const p of open) p.close();
  await herald?.stop();
});

test("node connection cap (HERALD_MAX_CONNECTIONS): 503 at the upgrade", async () => {
  const refusedBefore = await metric(herald.httpUrl, "herald_upgrades_refused_total", { reason: "node-full" });
  // The bystander is one; seven more from three addresses (three each at most).
  for (let i = 0; i < 7; i++) await as(`cap-${i}`, `127.0.0.${3 + Math.floor(i / 3)}`);
  await assert.rejects(Peer.open(herald.wsUrl, { localAddress: "127.0.0.9" }), (err: Error & { status?: number }) => err.status === 503);
  assert.equal(await metric(herald.httpUrl, "herald_upgrades_refused_total", { reason: "node-full" }), refusedBefore + 1);
  await bystanderStillServed();
  await closeAll();
});

test("connections per user (HERALD_MAX_CONNECTIONS_PER_USER)", async () => {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connections-per-user" });
  const first = await as("ursula", "127.0.0.2");
  await as("ursula", "127.0.0.3");
  const { peer, reply } = await Peer.connect(herald.wsUrl, { passcode: await token("ursula") }, { localAddress: "127.0.0.4" });
  assert.equal(reply.command, "ERROR");
  assert.equal(header(reply, "message"), "connection limit");
  assert.match(bodyOf(reply), /at most 2 connections per user/);
  await peer.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connections-per-user" }), before + 1);
  await bystanderStillServed();
  // Closing one frees its place.
  first.close();
  await first.whenClosed();
  await new Promise((r) => setTimeout(r, 100));
  await as("ursula", "127.0.0.4");
  await closeAll();
});

test("connections per remote address (HERALD_MAX_CONNECTIONS_PER_ADDRESS)", async () => {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connections-per-address" });
  const first = await as("a1", "127.0.0.2");
  await as("a2", "127.0.0.2");
  await as("a3", "127.0.0.2");
  // Refused when the socket opens (security-address-limit.test.ts: before any CONNECT).
  const { peer, reply } = await Peer.connect(herald.wsUrl, { passcode: await token("a4") }, { localAddress: "127.0.0.2" });
  assert.equal(reply.command, "ERROR");
  assert.equal(header(reply, "message"), "too many connections from your address");
  assert.match(bodyOf(reply), /at most 3 connections from one address/);
  await peer.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connections-per-address" }), before + 1);
  // Another address is not affected.
  await as("a5", "127.0.0.3");
  await bystanderStillServed();
  first.close();
  await first.whenClosed();
  await new Promise((r) => setTimeout(r, 100));
  await as("a6", "127.0.0.2");
  await closeAll();
});

test("SEND rate per connection (HERALD_SEND_RATE / HERALD_SEND_BURST)", async () => {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "send-rate" });
  const listener = await as("listener", "127.0.0.3");
  assert.equal((await listener.subscribe("/topic/messages", "l")).command, "RECEIPT");
  const sender = await as("chatty", "127.0.0.2");
  let burst = "";
  for (let i = 0; i < 8; i++) burst += frameText("SEND", { destination: "/app/sendMessage", receipt: `r${i}` }, `m${i}`);
  sender.send(burst);
  // The refusal is immediate; receipts of the accepted five follow their publish, so may be cut off by the close.
  let err;
  do err = await sender.next();
  while (err.command === "RECEIPT");
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "send rate exceeded");
  assert.match(bodyOf(err), /more than 5 SEND frames per second \(burst 5\)/);
  // Exactly the burst went through.
  const got = [];
  for (let i = 0; i < 5; i++) got.push(bodyOf(await listener.next()));
  assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4"]);
  await listener.quietFor(200);
  await sender.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "send-rate" }), before + 1);
  // Another connection has its own bucket.
  const calm = await as("calm", "127.0.0.3");
  calm.send(frameText("SEND", { destination: "/app/sendMessage", receipt: "ok" }, "fine"));
  assert.equal((await calm.next()).command, "RECEIPT");
  await bystanderStillServed();
  await closeAll();
});

test("subscriptions per connection (HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION)", async () => {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "subscriptions" });
  const p = await as("hoarder", "127.0.0.2");
  for (let i = 0; i < 3; i++) assert.equal((await p.subscribe(`/topic/t${i}`, `s${i}`)).command, "RECEIPT");
  const err = await p.subscribe("/topic/t3", "s3");
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "too many subscriptions");
  assert.match(bodyOf(err), /at most 3 subscriptions per connection/);
  await p.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "subscriptions" }), before + 1);
  await bystanderStillServed();
  await closeAll();
});

test("frame size (HERALD_MAX_FRAME_BYTES)", async () => {
  const before = await metric(herald.httpUrl, "herald_stomp_errors_total", { kind: "limit" });
  const refusedBefore = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" });
  const p = await as("big", "127.0.0.2");
  p.send(frameText("SEND", { destination: "/app/sendMessage" }, "x".repeat(3000)));
  const err = await p.next();
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "frame too large");
  assert.match(bodyOf(err), /at most 2048 bytes \(HERALD_MAX_FRAME_BYTES\)/);
  await p.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_stomp_errors_total", { kind: "limit" }), before + 1);
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" }), refusedBefore + 1);
  await bystanderStillServed();
  await closeAll();
});

test("CONNECT timeout (HERALD_CONNECT_TIMEOUT_MS)", async () => {
  const before = await metric(herald.httpUrl, "herald_disconnects_total", { reason: "connect-timeout" });
  const p = await Peer.open(herald.wsUrl, { localAddress: "127.0.0.2" });
  const started = Date.now();
  const err = await p.next(3000);
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "CONNECT timeout");
  assert.ok(Date.now() - started >= 400, "not before the timeout");
  await p.whenClosed();
  assert.equal(await metric(herald.httpUrl, "herald_disconnects_total", { reason: "connect-timeout" }), before + 1);
  assert.ok((await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "connect-timeout" })) >= 1);
  await bystanderStillServed();
});

test("every limit refusal was logged", () => {
  assert.match(herald.output, /too many connections for this user/);
  assert.match(herald.output, /too many connections from this address/);
  assert.match(herald.output, /SEND refused: over the rate limit/);
});
