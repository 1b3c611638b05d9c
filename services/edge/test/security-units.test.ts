import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { createAuthorizer, createTokenVerifier, parseAclText } from "@herald/auth";
import { createLogger, createRegistry } from "@herald/observability";
import { AclDestinationPolicy } from "../src/security/acl-policy.js";
import { ConnectionAdmission } from "../src/security/connection-admission.js";
import { JwtAuthenticator } from "../src/security/jwt-authenticator.js";
import { createSendRateLimiter } from "../src/security/send-rate-limiter.js";
import { securityMetrics } from "../src/security/security-metrics.js";
import { edgeSecurityFromEnv } from "../src/security/edge-security.js";
import { AccessDenied, type ConnectContext } from "../src/session/principal.js";
import type { StompSession } from "../src/session/session.js";

const logger = createLogger({ level: "silent" });
const SECRET = randomBytes(32).toString("hex");
const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
const ctx = (headers: Record<string, string>, query = ""): ConnectContext => ({ remoteAddress: "127.0.0.1", query, header: (n) => headers[n] });
/** Only what admission and the limiter read from a session. */
const session = (id: string, remoteAddress = "127.0.0.1") => ({ id, transport: { remoteAddress }, principal: undefined }) as unknown as StompSession;

async function sampleValue(registry: ReturnType<typeof createRegistry>, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((s) => Object.entries(labels).every(([k, val]) => (s.labels as Record<string, unknown>)[k] === val));
  return v?.value ?? 0;
}

describe("AclDestinationPolicy", () => {
  const registry = createRegistry();
  const policy = new AclDestinationPolicy(createAuthorizer(), securityMetrics(registry));
  const alice = { user: "alice", claims: {} };

  test("built-in rules: subscribe to broker and own user destinations, send only to /app", () => {
    assert.equal(policy.canSubscribe(alice, "/topic/a"), undefined);
    assert.equal(policy.canSubscribe(alice, "/user/queue/inbox"), undefined);
    assert.equal(policy.canSend(alice, "/app/chat"), undefined);
    assert.match(policy.canSend(alice, "/topic/a") ?? "", /no rule allows it/);
  });

  test("anonymous sessions get no user destination", () => {
    assert.match(policy.canSubscribe(undefined, "/user/queue/inbox") ?? "", /authenticated/);
    assert.equal(policy.canSubscribe(undefined, "/topic/a"), undefined);
  });

  test("non-canonical and foreign user destinations are refused", () => {
    for (const d of ["/user/bob/queue/x", "/user/queue/../bob", "/topic/%2e%2e", "/topic/a\u0000b", "/topic/a\u200bb", "/topic//a", "/topic/*"]) {
      assert.notEqual(policy.canSubscribe(alice, d), undefined, JSON.stringify(d));
    }
  });

  test("every refusal is counted by action", async () => {
    const before = await sampleValue(registry, "herald_acl_denials_total", { action: "send" });
    policy.canSend(alice, "/topic/x");
    policy.canSend(alice, "/app/ok");
    assert.equal(await sampleValue(registry, "herald_acl_denials_total", { action: "send" }), before + 1);
  });

  test("a rules file's claims conditions apply", () => {
    const rules = parseAclText(`rules:\n  - send: "/topic/ops.**"\n    when: { claim: roles, contains: ops }\n`, "inline.yaml");
    const p = new AclDestinationPolicy(createAuthorizer(rules), securityMetrics(createRegistry()));
    assert.equal(p.canSend({ user: "o", claims: { roles: ["ops"] } }, "/topic/ops.restart"), undefined);
    assert.match(p.canSend({ user: "v", claims: { roles: ["viewer"] } }, "/topic/ops.restart") ?? "", /refused/);
  });
});

describe("ConnectionAdmission", () => {
  test("per user and per address, released exactly once per admitted session", () => {
    const a = new ConnectionAdmission({ maxConnectionsPerUser: 2, maxConnectionsPerAddress: 3 }, logger);
    const u = { user: "u", claims: {} };
    const s1 = session("1", "10.0.0.1");
    const s2 = session("2", "10.0.0.2");
    const s3 = session("3", "10.0.0.3");
    assert.equal(a.admit(s1, u), undefined);
    assert.equal(a.admit(s2, u), undefined);
    assert.equal(a.admit(s3, u)?.limit, "connections-per-user");
    // The refused one did not keep its address slot.
    assert.deepEqual(a.counts("u", "10.0.0.3"), { user: 2, address: 0 });
    a.release(s1);
    a.release(s1); // second release of the same session is a no-op
    a.release(s3); // never admitted: no-op
    assert.deepEqual(a.counts("u", "10.0.0.1"), { user: 1, address: 0 });
    assert.equal(a.admit(s3, u), undefined);
  });

  test("anonymous sessions count only per address", () => {
    const a = new ConnectionAdmission({ maxConnectionsPerUser: 1, maxConnectionsPerAddress: 2 }, logger);
    assert.equal(a.admit(session("1"), undefined), undefined);
    assert.equal(a.admit(session("2"), undefined), undefined);
    const refused = a.admit(session("3"), undefined);
    assert.equal(refused?.limit, "connections-per-address");
    assert.match(refused?.message ?? "", /at most 2 connections from one address/);
  });
});

describe("SEND rate limiter", () => {
  test("one bucket per session: the burst passes, then a message; other sessions unaffected", () => {
    const take = createSendRateLimiter(1, 3, logger);
    const s = session("a");
    for (let i = 0; i < 3; i++) assert.equal(take(s), undefined);
    assert.match(take(s) ?? "", /more than 1 SEND frames per second \(burst 3\)/);
    assert.equal(take(session("b")), undefined);
  });
});

describe("JwtAuthenticator", () => {
  const make = (extra: Record<string, string> = {}) => {
    const registry = createRegistry();
    const verifier = createTokenVerifier({ key: { kind: "secret", secret: SECRET }, clockToleranceSec: 2, ...extra });
    return { registry, auth: new JwtAuthenticator(verifier, securityMetrics(registry), logger) };
  };

  test("the session expires at exp plus the tolerance the token was accepted with", async () => {
    const { auth } = make();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const p = await auth.authenticate(ctx({ passcode: await sign({ sub: "a", exp }) }));
    assert.ok(p?.expiresAt !== undefined);
    assert.ok(Math.abs(p.expiresAt - (exp * 1000 + 2000)) < 50, `${p.expiresAt} vs ${exp * 1000 + 2000}`);
  });

  test("a refused token is AccessDenied and counted by reason", async () => {
    const { auth, registry } = make();
    await assert.rejects(auth.authenticate(ctx({}, "access_token=abc")), AccessDenied);
    assert.equal(await sampleValue(registry, "herald_auth_failures_total", { reason: "malformed" }), 1);
  });

  test("refresh: same user passes; another user, or an anonymous session, is refused", async () => {
    const { auth, registry } = make();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const cur = { user: "a", claims: {} };
    assert.equal((await auth.refresh(cur, await sign({ sub: "a", exp }))).user, "a");
    await assert.rejects(auth.refresh(cur, await sign({ sub: "b", exp })), AccessDenied);
    await assert.rejects(auth.refresh(undefined, await sign({ sub: "a", exp })), /anonymous/);
    assert.equal(await sampleValue(registry, "herald_auth_failures_total", { reason: "user-changed" }), 1);
    assert.equal(await sampleValue(registry, "herald_auth_failures_total", { reason: "anonymous-refresh" }), 1);
  });

  test("an unreachable JWKS endpoint is not the client's fault: a plain Error, not AccessDenied", async () => {
    // A loopback port that accepts and closes at once.
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const registry = createRegistry();
      const verifier = createTokenVerifier({ key: { kind: "jwks", url: `http://127.0.0.1:${port}/jwks.json`, timeoutMs: 1000 } });
      const auth = new JwtAuthenticator(verifier, securityMetrics(registry), logger);
      const token = await new SignJWT({ sub: "a" }).setProtectedHeader({ alg: "RS256", kid: "k" }).sign((await import("node:crypto")).generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
      const err = await auth.authenticate(ctx({ passcode: token })).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof Error && !(err instanceof AccessDenied), `got ${String(err)}`);
      assert.equal(await sampleValue(registry, "herald_auth_failures_total", { reason: "key-unavailable" }), 1);
    } finally {
      server.close();
    }
  });
});

describe("edgeSecurityFromEnv", () => {
  const deps = () => ({ registry: createRegistry(), logger });
  test("no JWT key and no rules file: anyone may connect, the built-in rules still decide destinations, limits on", () => {
    const s = edgeSecurityFromEnv({}, deps());
    assert.equal(s.authenticator, undefined);
    assert.ok(s.policy instanceof AclDestinationPolicy);
    assert.equal(s.policy.canSend(undefined, "/app/sendMessage"), undefined);
    assert.match(s.policy.canSend(undefined, "/topic/x") ?? "", /\S/, "clients may not SEND to /topic/** unless a rule allows it");
    assert.equal(s.policy.canSubscribe(undefined, "/topic/x"), undefined);
    assert.ok(s.admission && s.sendLimiter);
  });
  test("a JWT key turns on the authenticator and the built-in rules", () => {
    const s = edgeSecurityFromEnv({ HERALD_JWT_SECRET: SECRET }, deps());
    assert.ok(s.authenticator instanceof JwtAuthenticator);
    assert.ok(s.policy instanceof AclDestinationPolicy);
  });
  test("bad limit values are configuration errors naming the variable; limits read elsewhere are not re-read", () => {
    assert.throws(() => edgeSecurityFromEnv({ HERALD_SEND_RATE: "0" }, deps()), /HERALD_SEND_RATE/);
    assert.throws(() => edgeSecurityFromEnv({ HERALD_MAX_CONNECTIONS_PER_USER: "many" }, deps()), /HERALD_MAX_CONNECTIONS_PER_USER/);
    // The API reads HERALD_API_RATE (0 = off) and the edge HERALD_MAX_FRAME_BYTES: not this module's business.
    assert.doesNotThrow(() => edgeSecurityFromEnv({ HERALD_API_RATE: "0", HERALD_MAX_FRAME_BYTES: "512" }, deps()));
  });
});
