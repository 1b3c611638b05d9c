import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { frameText, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, signJwt } from "./security-helpers.js";

// The built-in rules of each mode, as a newcomer meets them: the open gateway (no JWT key)
// behaves like Spring's simple broker; with a JWT key the built-in rules stay strict. A client
// without a user asking for a user destination is told what would give it one, and the
// refusal is logged and counted like every other.
const SECRET = randomBytes(32).toString("hex");

let open: HeraldProcess;
let insecure: HeraldProcess;
let jwt: HeraldProcess;
before(async () => {
  const builtin = { HERALD_ACL_FILE: "", LOG_LEVEL: "info" };
  [open, insecure, jwt] = await Promise.all([
    HeraldProcess.start({ env: builtin }),
    HeraldProcess.start({ env: { ...builtin, HERALD_INSECURE_LOGIN_AS_USER: "true" } }),
    HeraldProcess.start({ env: { ...builtin, HERALD_JWT_SECRET: SECRET, HERALD_ALLOW_ANONYMOUS: "true" } }),
  ]);
});
after(async () => {
  await Promise.all([open?.stop(), insecure?.stop(), jwt?.stop()]);
});

/** The child's log arrives through a pipe, a moment after the client saw the ERROR. */
const logged = (h: HeraldProcess, line: RegExp) => waitFor(() => line.test(h.output), { timeoutMs: 3000, what: `log line ${line}` });

describe("SEND to broker destinations", () => {
  test("the open default lets clients SEND to /topic/** and /queue/**, as Spring's simple broker does", async () => {
    for (const destination of ["/topic/messages", "/queue/work"]) {
      const listener = await Peer.connected(open.wsUrl);
      assert.equal((await listener.subscribe(destination, "l")).command, "RECEIPT");
      const sender = await Peer.connected(open.wsUrl);
      sender.send(frameText("SEND", { destination, receipt: "s" }, `hello ${destination}`));
      const receipt = await sender.next();
      assert.equal(receipt.command, "RECEIPT", `${destination}: ${header(receipt, "message") ?? ""} ${bodyOf(receipt)}`);
      const m = await listener.next();
      assert.equal(m.command, "MESSAGE");
      assert.equal(bodyOf(m), `hello ${destination}`);
      listener.close();
      sender.close();
    }
  });

  test("with a JWT key the built-in rules stay strict: SEND to /topic/** needs a rule", async () => {
    const peer = await Peer.connected(jwt.wsUrl, { passcode: await signJwt({ sub: "tom", exp: nowSec() + 300 }, SECRET) });
    peer.send(frameText("SEND", { destination: "/topic/messages", receipt: "s" }, "nope"));
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "access denied");
    assert.match(bodyOf(err), /no rule allows it/);
    await peer.whenClosed();
  });
});

describe("a user destination without a user", () => {
  async function refusedWith(h: HeraldProcess, connectHeaders: Record<string, string>, frame: string, action: "subscribe" | "send"): Promise<string> {
    const before = await metric(h.httpUrl, "herald_acl_denials_total", { action });
    const peer = await Peer.connected(h.wsUrl, connectHeaders);
    peer.send(frame);
    const err = await peer.next();
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "access denied");
    assert.match(bodyOf(err), /\/user\/queue\/notifications is a user destination and this connection has no authenticated user/);
    await peer.whenClosed();
    assert.equal(await metric(h.httpUrl, "herald_acl_denials_total", { action }), before + 1, "counted");
    return bodyOf(err);
  }
  const subscribe = frameText("SUBSCRIBE", { id: "n", destination: "/user/queue/notifications", receipt: "r" });
  const send = frameText("SEND", { destination: "/user/queue/notifications", receipt: "r" }, "x");

  test("on the open default: says to try HERALD_INSECURE_LOGIN_AS_USER=true locally or set a JWT key, not to CONNECT with a token", async () => {
    for (const [frame, action] of [[subscribe, "subscribe"], [send, "send"]] as const) {
      const detail = await refusedWith(open, {}, frame, action);
      assert.match(detail, /HERALD_INSECURE_LOGIN_AS_USER=true/);
      assert.match(detail, /login header/);
      assert.match(detail, /HERALD_JWT_SECRET/);
      assert.doesNotMatch(detail, /CONNECT with a token/);
    }
    await logged(open, /"action":"subscribe"[^\n]*destination refused/);
    await logged(open, /"action":"send"[^\n]*destination refused/);
  });

  test("with HERALD_INSECURE_LOGIN_AS_USER on: says to send a login header", async () => {
    const detail = await refusedWith(insecure, {}, subscribe, "subscribe");
    assert.match(detail, /CONNECT with a login header naming the user/);
    await logged(insecure, /destination refused/);
  });

  test("with a JWT key and anonymous clients allowed: says to CONNECT with a token", async () => {
    const detail = await refusedWith(jwt, {}, subscribe, "subscribe");
    assert.match(detail, /CONNECT with a token/);
  });
});
