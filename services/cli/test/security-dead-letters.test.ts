import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { frameText, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header, type Frame, type ServerCommand } from "@herald/stomp";
import { Peer, bodyOf, metric, nowSec, publish, signJwt, tempDir } from "./security-helpers.js";

// A user's dead letters hold that user's private messages. The attack: user B, or an anonymous
// client, SUBSCRIBEs to /queue/dlq/user/A/... (plain or durable, which replays the stored
// backlog) and reads them. Two gateways with JWT and anonymous clients allowed: one with the
// built-in rules, one with a rules file that opens dead letters to operators by claim and has
// a broad /queue/** rule (which must not open them by accident).
const SECRET = randomBytes(32).toString("hex");
const files = tempDir();
const RULES = `
rules:
  - subscribe: "/queue/dlq/**"
    when: { claim: roles, contains: operator }
  - subscribe: ["/topic/**", "/queue/**", "/user/queue/**"]
  - send: ["/app/**", "/topic/**", "/queue/**"]
`;

let builtin: HeraldProcess;
let ruled: HeraldProcess;
before(async () => {
  const common = { HERALD_JWT_SECRET: SECRET, HERALD_ALLOW_ANONYMOUS: "true", HERALD_MAX_REDELIVERIES: "0", LOG_LEVEL: "info" };
  [builtin, ruled] = await Promise.all([
    HeraldProcess.start({ env: { ...common, HERALD_ACL_FILE: "" } }),
    HeraldProcess.start({ env: { ...common, HERALD_ACL_FILE: files.file("acl.yaml", RULES) } }),
  ]);
});
after(async () => {
  await Promise.all([builtin?.stop(), ruled?.stop()]);
  files.dispose();
});

const A_DEAD = "/queue/dlq/user/alice/queue/orders";
const token = (sub: string, extra: Record<string, unknown> = {}) => signJwt({ sub, exp: nowSec() + 300, ...extra }, SECRET);
const as = async (h: HeraldProcess, sub: string, extra: Record<string, unknown> = {}) => Peer.connected(h.wsUrl, { passcode: await token(sub, extra) });

/** Alice receives a private message and NACKs it: with HERALD_MAX_REDELIVERIES=0 it is dead-lettered at once. */
async function deadLetterFor(h: HeraldProcess, body: string): Promise<void> {
  const alice = await as(h, "alice");
  assert.equal((await alice.subscribe("/user/queue/orders", "o", { ack: "client-individual" })).command, "RECEIPT");
  await publish(h.httpUrl, { user: "alice", destination: "/queue/orders", body });
  for (;;) {
    const m = await alice.next();
    assert.equal(m.command, "MESSAGE");
    if (bodyOf(m) === body) {
      alice.send(frameText("NACK", { id: header(m, "ack")!, receipt: "nacked" }));
      break;
    }
    alice.send(frameText("ACK", { id: header(m, "ack")! }));
  }
  assert.equal((await alice.next()).command, "RECEIPT");
  alice.close();
}

/** SUBSCRIBE with a receipt: the messages replayed before its RECEIPT (or the ERROR), and the reply. */
async function subscribeCollecting(peer: Peer, destination: string, id: string, extra: Record<string, string> = {}): Promise<{ reply: Frame<ServerCommand>; replayed: string[] }> {
  peer.send(frameText("SUBSCRIBE", { destination, id, receipt: `sub-${id}`, ...extra }));
  const replayed: string[] = [];
  for (;;) {
    const f = await peer.next();
    if (f.command !== "MESSAGE") return { reply: f, replayed };
    assert.equal(header(f, "destination"), destination);
    replayed.push(bodyOf(f));
  }
}

async function refused(h: HeraldProcess, peer: Peer, extra: Record<string, string>): Promise<void> {
  const before = await metric(h.httpUrl, "herald_acl_denials_total", { action: "subscribe" });
  const reply = await peer.subscribe(A_DEAD, "dlq", extra);
  assert.equal(reply.command, "ERROR", `${JSON.stringify(extra)}: got ${reply.command} ${bodyOf(reply)}`);
  assert.equal(header(reply, "message"), "access denied");
  assert.match(bodyOf(reply), /dead letters/);
  await peer.whenClosed();
  assert.equal(await metric(h.httpUrl, "herald_acl_denials_total", { action: "subscribe" }), before + 1);
}

for (const [name, h] of [["built-in rules", () => builtin], ["a rules file with /queue/** and an operator rule", () => ruled]] as const) {
  describe(`dead letters with ${name}`, () => {
    test("user B and anonymous clients are refused, with and without durable-name (which would replay the backlog)", async () => {
      await deadLetterFor(h(), "alice's private order");
      const variants: Array<Record<string, string>> = [{}, { "durable-name": "snoop" }, { "durable-name": "snoop", ack: "client" }];
      for (const extra of variants) {
        await refused(h(), await as(h(), "bob"), extra);
        await refused(h(), await Peer.connected(h().wsUrl), extra);
      }
      await waitFor(() => /destination refused/.test(h().output), { timeoutMs: 3000, what: "the refusals in the log" });
    });

    test("nobody can forge a dead letter by SEND", async () => {
      for (const [who, d] of [["bob", A_DEAD], ["alice", "/user/queue/dlq/queue/orders"], ["alice", A_DEAD]] as const) {
        const peer = await as(h(), who);
        peer.send(frameText("SEND", { destination: d, receipt: "s" }, "forged"));
        const err = await peer.next();
        assert.equal(err.command, "ERROR", `${who} → ${d}`);
        assert.match(bodyOf(err), /only the server writes/);
        await peer.whenClosed();
      }
    });

    test("the owner reads her own dead letters, the stored backlog and new ones, at /user/queue/dlq/…", async () => {
      await deadLetterFor(h(), "backlog");
      const alice = await as(h(), "alice");
      const { reply, replayed } = await subscribeCollecting(alice, "/user/queue/dlq/queue/orders", "mine");
      assert.equal(reply.command, "RECEIPT", bodyOf(reply));
      assert.ok(replayed.includes("backlog"), JSON.stringify(replayed));
      await deadLetterFor(h(), "live one");
      const live = await alice.next();
      assert.equal(bodyOf(live), "live one");
      assert.equal(header(live, "destination"), "/user/queue/dlq/queue/orders");
      assert.equal(header(live, "herald-original-destination"), "/user/alice/queue/orders");
      alice.close();
    });
  });
}

test("an operator with the claim reads any user's dead letters, backlog included, where a rule names /queue/dlq/", async () => {
  await deadLetterFor(ruled, "for the operator");
  const ops = await as(ruled, "olivia", { roles: ["operator"] });
  const { reply, replayed } = await subscribeCollecting(ops, A_DEAD, "d", { "durable-name": "audit" });
  assert.equal(reply.command, "RECEIPT", bodyOf(reply));
  assert.ok(replayed.includes("for the operator"), JSON.stringify(replayed));
  // The same claim on the built-in rules opens nothing.
  await refused(builtin, await as(builtin, "olivia", { roles: ["operator"] }), {});
  ops.close();
});
