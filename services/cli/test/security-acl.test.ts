import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, publish, signJwt, tempDir } from "./security-helpers.js";

// Who may SUBSCRIBE and SEND where, end to end: a Herald with a rules file
// (claims-based rules + the built-in ones) and one with only the built-in rules.
const SECRET = randomBytes(32).toString("hex");
const files = tempDir();
const RULES = `
defaults: true
rules:
  - subscribe: "/topic/ops.**"
    when: { claim: roles, contains: operator }
  - subscribe: "/topic/ops.**"
    effect: deny
    name: operators only
  - subscribe: "/topic/team.{claims.team}.**"
  - send: "/topic/team.{claims.team}.**"
  - subscribe: "/topic/team.**"
    effect: deny
    name: own team only
`;

let ruled: HeraldProcess;
let plain: HeraldProcess;
before(async () => {
  [ruled, plain] = await Promise.all([
    HeraldProcess.start({ env: { HERALD_JWT_SECRET: SECRET, HERALD_ACL_FILE: files.file("acl.yaml", RULES), LOG_LEVEL: "info" } }),
    HeraldProcess.start({ env: { HERALD_JWT_SECRET: SECRET, HERALD_ACL_FILE: "" } }),
  ]);
});
after(async () => {
  await Promise.all([ruled?.stop(), plain?.stop()]);
  files.dispose();
});

const token = (sub: string, extra: Record<string, unknown> = {}) => signJwt({ sub, exp: nowSec() + 300, ...extra }, SECRET);
const as = async (h: HeraldProcess, sub: string, extra: Record<string, unknown> = {}) => Peer.connected(h.wsUrl, { passcode: await token(sub, extra) });

describe("user A never receives what is meant for user B", () => {
  // Header values are written raw: in STOMP 1.2 `\c`, `\n`, `\\` are escapes the parser decodes.
  const spellings = [
    "/user/bob/queue/x",
    "/user/queue/../bob/queue/x",
    "/user/queue/x/../../bob/queue/x",
    "/user/./bob/queue/x",
    "/user//bob/queue/x",
    "/user/queue/..%2Fbob%2Fqueue%2Fx",
    "/user/%62ob/queue/x",
    "/user/queue/%2e%2e/bob/queue/x",
    "/user/queue/%252e%252e/bob/queue/x",
    "/user%2Fbob%2Fqueue%2Fx",
    "/user/queue/x\\n/user/bob/queue/x",
    "/user\\\\bob/queue/x",
    "/user/bob\\c/queue/x",
    "/user/queue/\u2215..\u2215bob\u2215queue\u2215x",
    "/user/bob/queue/x\u200b",
    "/USER/bob/queue/x",
    "/topic/../user/bob/queue/x",
  ];

  test("every spelling is refused with an ERROR, or names only A's own queue", async () => {
    const bob = await as(ruled, "bob");
    assert.equal((await bob.subscribe("/user/queue/x", "b")).command, "RECEIPT");
    const listening: Peer[] = [];
    for (const d of spellings) {
      const alice = await as(ruled, "alice");
      const reply = await alice.subscribe(d, "a");
      if (reply.command === "RECEIPT") listening.push(alice);
      else {
        assert.equal(reply.command, "ERROR", `${JSON.stringify(d)}: ${reply.command}`);
        assert.match(header(reply, "message") ?? "", /access denied|invalid destination/, JSON.stringify(d));
        await alice.whenClosed();
      }
    }
    // A NUL cannot hide in a header: it ends the frame, and what follows is garbage.
    const nul = await as(ruled, "alice");
    nul.send(`SUBSCRIBE\nid:n\ndestination:/user/bob\u0000/queue/x\nreceipt:n\n\n\u0000`);
    const nulReply = await nul.next();
    assert.equal(nulReply.command, "ERROR");
    // Repeated headers: STOMP 1.2 says the first wins, so this is A's own queue.
    const twice = await as(ruled, "alice");
    twice.send(`SUBSCRIBE\nid:t\ndestination:/user/queue/x\ndestination:/user/bob/queue/x\nreceipt:t\n\n\u0000`);
    assert.equal((await twice.next()).command, "RECEIPT");
    listening.push(twice);

    await publish(ruled.httpUrl, { destination: "/queue/x", user: "bob", body: "for bob only" });
    const m = await bob.next();
    assert.equal(m.command, "MESSAGE");
    assert.equal(bodyOf(m), "for bob only");
    for (const p of listening) await p.quietFor(listening.indexOf(p) === 0 ? 300 : 0);
    // ...while A's own queue still works for A.
    await publish(ruled.httpUrl, { destination: "/queue/x", user: "alice", body: "for alice" });
    assert.equal(bodyOf(await twice.next()), "for alice");
    for (const p of [bob, nul, twice, ...listening]) p.close();
  });

  test("A cannot SEND into B's queue either", async () => {
    for (const d of ["/user/bob/queue/x", "/user/queue/../bob/queue/x", "/user/%62ob/queue/x"]) {
      const alice = await as(ruled, "alice");
      alice.send(frameText("SEND", { destination: d, receipt: "s" }, "spoof"));
      const err = await alice.next();
      assert.equal(err.command, "ERROR", d);
      await alice.whenClosed();
    }
  });

  test("a refusal names the destination and is counted", async () => {
    const before = await metric(ruled.httpUrl, "herald_acl_denials_total", { action: "subscribe" });
    const alice = await as(ruled, "alice");
    const err = await alice.subscribe("/user/bob/queue/x", "a");
    assert.equal(header(err, "message"), "access denied");
    assert.match(bodyOf(err), /\/user\/bob\/queue\/x/);
    assert.equal(await metric(ruled.httpUrl, "herald_acl_denials_total", { action: "subscribe" }), before + 1);
    assert.match(ruled.output, /destination refused/);
  });
});

describe("built-in rules (no HERALD_ACL_FILE)", () => {
  test("SEND to /topic/** is refused, with an ERROR naming the destination", async () => {
    const before = await metric(plain.httpUrl, "herald_acl_denials_total", { action: "send" });
    const p = await as(plain, "alice");
    p.send(frameText("SEND", { destination: "/topic/chat", receipt: "s" }, "hi"));
    const err = await p.next();
    assert.equal(err.command, "ERROR");
    assert.equal(header(err, "message"), "access denied");
    assert.match(bodyOf(err), /\/topic\/chat/);
    assert.match(bodyOf(err), /no rule allows it/);
    await p.whenClosed();
    assert.equal(await metric(plain.httpUrl, "herald_acl_denials_total", { action: "send" }), before + 1);
  });

  test("SUBSCRIBE to /topic/** and SEND to /app/** are allowed", async () => {
    const sub = await as(plain, "alice");
    assert.equal((await sub.subscribe("/topic/messages", "1")).command, "RECEIPT");
    const sender = await as(plain, "bob");
    sender.send(frameText("SEND", { destination: "/app/sendMessage", receipt: "s" }, "hello"));
    assert.equal((await sender.next()).command, "RECEIPT");
    const m = await sub.next();
    assert.equal(m.command, "MESSAGE");
    assert.equal(bodyOf(m), "hello");
    sub.close();
    sender.close();
  });
});

describe("claims-based rules from a YAML file", () => {
  test("a team member may SEND to and SUBSCRIBE to their team's topic; the message arrives", async () => {
    const reader = await as(ruled, "rita", { team: "red" });
    assert.equal((await reader.subscribe("/topic/team.red.chat", "1")).command, "RECEIPT");
    const writer = await as(ruled, "rob", { team: "red" });
    writer.send(frameText("SEND", { destination: "/topic/team.red.chat", receipt: "s" }, "red team, go"));
    assert.equal((await writer.next()).command, "RECEIPT");
    const m = await reader.next();
    assert.equal(bodyOf(m), "red team, go");
    reader.close();
    writer.close();
  });

  test("another team's topic is refused, naming the rule", async () => {
    const blue = await as(ruled, "bea", { team: "blue" });
    const err = await blue.subscribe("/topic/team.red.chat", "1");
    assert.equal(err.command, "ERROR");
    assert.match(bodyOf(err), /\/topic\/team\.red\.chat/);
    assert.match(bodyOf(err), /own team only/);
    const sender = await as(ruled, "bea", { team: "blue" });
    sender.send(frameText("SEND", { destination: "/topic/team.red.chat" }, "x"));
    assert.equal((await sender.next()).command, "ERROR");
  });

  test("a claim value cannot smuggle a wildcard or a path", async () => {
    const sneaky = await as(ruled, "sam", { team: "*" });
    assert.equal((await sneaky.subscribe("/topic/team.red.chat", "1")).command, "ERROR");
    const dotted = await as(ruled, "sid", { team: "red.chat" });
    assert.equal((await dotted.subscribe("/topic/team.red.chat.x", "1")).command, "ERROR");
  });

  test("a role condition: operators may read ops topics, others may not", async () => {
    const op = await as(ruled, "olga", { roles: ["operator", "viewer"] });
    assert.equal((await op.subscribe("/topic/ops.alerts", "1")).command, "RECEIPT");
    const viewer = await as(ruled, "vic", { roles: ["viewer"] });
    const err = await viewer.subscribe("/topic/ops.alerts", "1");
    assert.equal(err.command, "ERROR");
    assert.match(bodyOf(err), /operators only/);
    op.close();
  });

  test("SEND to a topic no rule names is still refused", async () => {
    const p = await as(ruled, "rita", { team: "red" });
    p.send(frameText("SEND", { destination: "/topic/general" }, "x"));
    const err = await p.next();
    assert.equal(err.command, "ERROR");
    assert.match(bodyOf(err), /\/topic\/general/);
  });
});
