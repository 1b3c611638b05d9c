import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, signJwt } from "./security-helpers.js";

// Tokens that never expire, and token refreshes as a way around the SEND rate limit,
// against real Herald processes and real signed tokens.
const SECRET = randomBytes(32).toString("hex");
const REFRESH = "/app/herald.refresh-token";

let strict: HeraldProcess;
let lenient: HeraldProcess;
before(async () => {
  const common = { HERALD_JWT_SECRET: SECRET, HERALD_JWT_CLOCK_TOLERANCE_SEC: "0", HERALD_ACL_FILE: "", LOG_LEVEL: "info", HERALD_SEND_RATE: "5", HERALD_SEND_BURST: "10" };
  [strict, lenient] = await Promise.all([
    HeraldProcess.start({ env: common }),
    HeraldProcess.start({ env: { ...common, HERALD_JWT_NO_EXP_MAX_SESSION_S: "2" } }),
  ]);
});
after(async () => {
  await Promise.all([strict?.stop(), lenient?.stop()]);
});

const withExp = (sub: string, inSec = 300) => signJwt({ sub, exp: nowSec() + inSec }, SECRET);
const withoutExp = (sub: string) => signJwt({ sub, iat: nowSec() }, SECRET);

describe("tokens without exp", () => {
  test("are refused at CONNECT by default, counted as no-expiry", async () => {
    const before = await metric(strict.httpUrl, "herald_auth_failures_total", { reason: "no-expiry" });
    const { peer, reply } = await Peer.connect(strict.wsUrl, { passcode: await withoutExp("olga") });
    assert.equal(reply.command, "ERROR");
    assert.equal(header(reply, "message"), "authentication failed");
    assert.match(bodyOf(reply), /no "exp" claim/);
    await peer.whenClosed();
    assert.equal(await metric(strict.httpUrl, "herald_auth_failures_total", { reason: "no-expiry" }), before + 1);
  });

  test("are refused by refresh, so a refresh cannot lift the session's expiry", async () => {
    const exp = nowSec() + 2;
    const peer = await Peer.connected(strict.wsUrl, { passcode: await signJwt({ sub: "pete", exp }, SECRET) });
    peer.send(frameText("SEND", { destination: REFRESH, receipt: "r" }, await withoutExp("pete")));
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "token refresh refused");
    assert.match(bodyOf(err), /no "exp" claim/);
    await peer.whenClosed();
  });

  test("with HERALD_JWT_NO_EXP_MAX_SESSION_S they are accepted, and the session ends that long after the token was presented", async () => {
    const started = Date.now();
    const peer = await Peer.connected(lenient.wsUrl, { passcode: await withoutExp("quinn") });
    assert.equal(header(peer.frames[0]!, "user-name"), "quinn");
    assert.equal((await peer.subscribe("/user/queue/inbox", "1")).command, "RECEIPT");
    const err = await peer.next(5000);
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "token expired");
    const after = Date.now() - started;
    assert.ok(after >= 1900 && after < 3500, `closed after ${after} ms`);
    await peer.whenClosed();
  });

  test("there, a refresh with a token without exp gives the same bounded lifetime again (never an endless session)", async () => {
    const peer = await Peer.connected(lenient.wsUrl, { passcode: await withExp("rita", 1) });
    await new Promise((r) => setTimeout(r, 300));
    peer.send(frameText("SEND", { destination: REFRESH, receipt: "r" }, await withoutExp("rita")));
    assert.equal((await peer.next()).command, "RECEIPT");
    const refreshedAt = Date.now();
    const err = await peer.next(5000);
    assert.equal(header(err, "message"), "token expired");
    const after = Date.now() - refreshedAt;
    assert.ok(after >= 1900 && after < 3500, `closed ${after} ms after the refresh`);
  });
});

test("refresh SENDs count against the SEND rate limit like any SEND", async () => {
  const before = await metric(strict.httpUrl, "herald_limit_rejections_total", { limit: "send-rate" });
  const peer = await Peer.connected(strict.wsUrl, { passcode: await withExp("sam") });
  const token = await withExp("sam");
  for (let i = 0; i < 200; i++) peer.send(frameText("SEND", { destination: REFRESH, receipt: `r${i}` }, token));
  await peer.whenClosed(10_000);
  const receipts = peer.frames.filter((f) => f.command === "RECEIPT").length;
  const errors = peer.frames.filter((f) => f.command === "ERROR");
  assert.ok(receipts <= 12, `${receipts} refreshes answered; the burst is 10`);
  assert.equal(errors.length, 1);
  assert.equal(header(errors[0]!, "message"), "send rate exceeded");
  assert.equal(await metric(strict.httpUrl, "herald_limit_rejections_total", { limit: "send-rate" }), before + 1);
});
