import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { connectStomp, Inbox, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, publish, signJwt, tempDir, unsignedJwt } from "./security-helpers.js";

// Real tokens signed here against real Herald processes: one keyed with an HMAC
// secret (audience + issuer checked, no clock tolerance so expiry is exact), one
// with an RSA public key file that also lets tokenless clients in anonymously.
const SECRET = randomBytes(32).toString("hex");
const AUD = "herald-test";
const ISS = "https://issuer.test";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const RSA_PEM = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
const files = tempDir();

let hs: HeraldProcess;
let rs: HeraldProcess;
before(async () => {
  [hs, rs] = await Promise.all([
    HeraldProcess.start({ env: { HERALD_JWT_SECRET: SECRET, HERALD_JWT_AUDIENCE: AUD, HERALD_JWT_ISSUER: ISS, HERALD_JWT_CLOCK_TOLERANCE_SEC: "0", HERALD_ACL_FILE: "", LOG_LEVEL: "info" } }),
    HeraldProcess.start({ env: { HERALD_JWT_PUBLIC_KEY_FILE: files.file("jwt.pub.pem", RSA_PEM), HERALD_ALLOW_ANONYMOUS: "true", HERALD_ACL_FILE: "", LOG_LEVEL: "info" } }),
  ]);
});
after(async () => {
  await Promise.all([hs?.stop(), rs?.stop()]);
  files.dispose();
});

const claims = (sub: string, extra: Record<string, unknown> = {}) => ({ sub, aud: AUD, iss: ISS, iat: nowSec(), exp: nowSec() + 300, ...extra });
const valid = (sub = "alice", extra: Record<string, unknown> = {}) => signJwt(claims(sub, extra), SECRET);

async function refusedAtConnect(url: string, headers: Record<string, string>, reason: string, detail: RegExp, httpUrl: string): Promise<void> {
  const before = await metric(httpUrl, "herald_auth_failures_total", { reason });
  const { peer, reply } = await Peer.connect(url, headers);
  assert.equal(reply.command, "ERROR", `expected ERROR, got ${reply.command}`);
  assert.equal(header(reply, "message"), "authentication failed");
  assert.match(bodyOf(reply), detail);
  await peer.whenClosed();
  assert.equal(await metric(httpUrl, "herald_auth_failures_total", { reason }), before + 1, `herald_auth_failures_total{reason="${reason}"}`);
}

describe("token in each of the three places", () => {
  test("CONNECT passcode header (@stomp/stompjs connectHeaders)", async () => {
    const client = await connectStomp(hs.wsUrl, { connectHeaders: { login: "ignored", passcode: await valid("alice") } });
    try {
      // The CONNECTED frame names the user the token named.
      const inbox = new Inbox();
      await new Promise<void>((resolve) => {
        client.watchForReceipt("r", () => resolve());
        client.subscribe("/user/queue/inbox", inbox.push, { receipt: "r" });
      });
      await publish(hs.httpUrl, { destination: "/queue/inbox", user: "alice", body: "for alice" });
      const [m] = await inbox.waitFor(1);
      assert.equal(m!.body, "for alice");
    } finally {
      await client.deactivate();
    }
  });

  test("CONNECT Authorization: Bearer header", async () => {
    const peer = await Peer.connected(hs.wsUrl, { Authorization: `Bearer ${await valid("bob")}` });
    assert.equal(header(peer.frames[0]!, "user-name"), "bob");
    peer.close();
  });

  test("access_token query parameter of the upgrade URL", async () => {
    const peer = await Peer.connected(`${hs.wsUrl}?access_token=${await valid("carol")}`);
    assert.equal(header(peer.frames[0]!, "user-name"), "carol");
    peer.close();
  });

  test("no token at all is refused when anonymous access is off", async () => {
    await refusedAtConnect(hs.wsUrl, {}, "missing", /token/i, hs.httpUrl);
  });
});

describe("bad tokens are refused with ERROR and counted by reason", () => {
  test("expired", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: await signJwt(claims("alice", { exp: nowSec() - 10 }), SECRET) }, "expired", /expired/i, hs.httpUrl);
  });
  test("not yet valid (nbf in the future)", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: await signJwt(claims("alice", { nbf: nowSec() + 600 }), SECRET) }, "not-yet-valid", /not (yet )?valid|nbf/i, hs.httpUrl);
  });
  test("wrong signature (another secret)", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: await signJwt(claims("alice"), randomBytes(32).toString("hex")) }, "bad-signature", /signature/i, hs.httpUrl);
  });
  test("wrong audience", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: await signJwt(claims("alice", { aud: "someone-else" }), SECRET) }, "wrong-audience", /aud/i, hs.httpUrl);
  });
  test("wrong issuer", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: await signJwt(claims("alice", { iss: "https://evil.test" }), SECRET) }, "wrong-issuer", /iss/i, hs.httpUrl);
  });
  test("alg: none", async () => {
    await refusedAtConnect(hs.wsUrl, { passcode: unsignedJwt(claims("alice")) }, "algorithm-refused", /none/, hs.httpUrl);
  });
  test("garbage", async () => {
    await refusedAtConnect(hs.wsUrl, { Authorization: "Bearer not.a.jwt!" }, "malformed", /./, hs.httpUrl);
  });
  test("HS/RS confusion: HS256 keyed with the server's RSA public key PEM", async () => {
    await refusedAtConnect(rs.wsUrl, { passcode: await signJwt({ sub: "mallory", exp: nowSec() + 60 }, RSA_PEM, "HS256") }, "algorithm-refused", /HS256/, rs.httpUrl);
  });
  test("the same RSA server accepts a real RS256 token", async () => {
    const peer = await Peer.connected(rs.wsUrl, { passcode: await signJwt({ sub: "dave", exp: nowSec() + 60 }, rsa.privateKey, "RS256") });
    assert.equal(header(peer.frames[0]!, "user-name"), "dave");
    peer.close();
  });
});

describe("HERALD_ALLOW_ANONYMOUS=true", () => {
  test("a tokenless client gets in, without a user, and cannot use user destinations", async () => {
    const peer = await Peer.connected(rs.wsUrl);
    assert.equal(header(peer.frames[0]!, "user-name"), undefined);
    const ok = await peer.subscribe("/topic/news", "1");
    assert.equal(ok.command, "RECEIPT");
    const refused = await peer.subscribe("/user/queue/inbox", "2");
    assert.equal(refused.command, "ERROR");
    assert.match(bodyOf(refused), /\/user\/queue\/inbox/);
    assert.match(bodyOf(refused), /authenticated/);
    await peer.whenClosed();
  });
  test("a present but bad token is still refused", async () => {
    await refusedAtConnect(rs.wsUrl, { passcode: await signJwt({ sub: "x", exp: nowSec() + 60 }, rsa.privateKey, "RS256").then((t) => t.slice(0, -4) + "AAAA") }, "bad-signature", /signature/i, rs.httpUrl);
  });
  test("an anonymous connection cannot take a token by refresh", async () => {
    const peer = await Peer.connected(rs.wsUrl);
    peer.send(frameText("SEND", { destination: "/app/herald.refresh-token", receipt: "r" }, await signJwt({ sub: "eve", exp: nowSec() + 60 }, rsa.privateKey, "RS256")));
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.match(bodyOf(err), /anonymous/);
    await peer.whenClosed();
  });
});

describe("expiry and refresh", () => {
  test("a connection that only listens is closed with ERROR 'token expired' at exp", async () => {
    const exp = nowSec() + 2;
    const peer = await Peer.connected(hs.wsUrl, { passcode: await signJwt(claims("frank", { exp }), SECRET) });
    assert.equal((await peer.subscribe("/topic/quiet", "1")).command, "RECEIPT");
    const err = await peer.next(4000);
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "token expired");
    const lateBy = Date.now() - exp * 1000;
    assert.ok(lateBy >= 0 && lateBy < 1500, `closed ${lateBy} ms after exp`);
    await peer.whenClosed();
  });

  test("refresh with a new token for the same user: RECEIPT, and the connection outlives the first token", async () => {
    const first = nowSec() + 2;
    const peer = await Peer.connected(hs.wsUrl, { passcode: await signJwt(claims("grace", { exp: first }), SECRET) });
    assert.equal((await peer.subscribe("/user/queue/inbox", "1")).command, "RECEIPT");
    peer.send(frameText("SEND", { destination: "/app/herald.refresh-token", receipt: "refreshed" }, await signJwt(claims("grace", { exp: nowSec() + 60 }), SECRET)));
    const receipt = await peer.next();
    assert.equal(receipt.command, "RECEIPT");
    assert.equal(header(receipt, "receipt-id"), "refreshed");
    await new Promise((r) => setTimeout(r, Math.max(0, first * 1000 - Date.now()) + 700));
    await peer.quietFor(0);
    await publish(hs.httpUrl, { destination: "/queue/inbox", user: "grace", body: "still here" });
    const m = await peer.next();
    assert.equal(m.command, "MESSAGE");
    assert.equal(bodyOf(m), "still here");
    peer.close();
  });

  test("refresh with another user's token: ERROR and close", async () => {
    const peer = await Peer.connected(hs.wsUrl, { passcode: await valid("heidi") });
    const before = await metric(hs.httpUrl, "herald_auth_failures_total", { reason: "user-changed" });
    peer.send(frameText("SEND", { destination: "/app/herald.refresh-token", receipt: "r" }, await valid("ivan")));
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "token refresh refused");
    await peer.whenClosed();
    assert.equal(await metric(hs.httpUrl, "herald_auth_failures_total", { reason: "user-changed" }), before + 1);
  });

  test("refresh with an expired token: ERROR and close", async () => {
    const peer = await Peer.connected(hs.wsUrl, { passcode: await valid("judy") });
    peer.send(frameText("SEND", { destination: "/app/herald.refresh-token" }, await signJwt(claims("judy", { exp: nowSec() - 5 }), SECRET)));
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.match(bodyOf(err), /expired/i);
    await peer.whenClosed();
  });
});

test("the start-up log says how connections are authenticated, and refusals are logged with their reason", () => {
  assert.match(hs.output, /JWT: tokens required; connections without a token are refused/);
  assert.match(hs.output, /"reason":"wrong-audience"[^\n]*token refused/);
  assert.match(rs.output, /connections without a token are anonymous/);
});
