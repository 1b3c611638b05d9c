import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { createAuthorizer, createTokenVerifier, parseAclText } from "@herald/auth";
import { createLogger, createRegistry } from "@herald/observability";
import { AclDestinationPolicy } from "../src/security/acl-policy.js";
import { ConnectionAdmission } from "../src/security/connection-admission.js";
import { normalizeAddress, trustedProxiesFromEnv } from "../src/security/client-address.js";
import { JwtAuthenticator } from "../src/security/jwt-authenticator.js";
import { createFrameRateLimiter } from "../src/security/frame-rate-limiter.js";
import { securityMetrics } from "../src/security/security-metrics.js";
import { edgeSecurityFromEnv } from "../src/security/edge-security.js";
import { AccessDenied, type ConnectContext } from "../src/session/principal.js";
import type { StompSession } from "../src/session/session.js";

const logger = createLogger({ level: "silent" });
const SECRET = randomBytes(32).toString("hex");
const sign = (claims: Record<string, unknown>) => new SignJWT({ exp: Math.floor(Date.now() / 1000) + 300, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
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
  test("per user from CONNECT: released exactly once per admitted session", () => {
    const a = new ConnectionAdmission({ maxConnectionsPerUser: 2, maxConnectionsPerAddress: 3 }, logger);
    const u = { user: "u", claims: {} };
    const [s1, s2, s3] = [session("1"), session("2"), session("3")];
    assert.equal(a.admit(s1, u), undefined);
    assert.equal(a.admit(s2, u), undefined);
    const refused = a.admit(s3, u);
    assert.equal(refused?.limit, "connections-per-user");
    assert.match(refused?.message ?? "", /at most 2 connections per user/);
    assert.equal(a.counts("u", "127.0.0.1").user, 2);
    a.release(s1);
    a.release(s1); // second release of the same session is a no-op
    a.release(s3); // never admitted: no-op
    assert.equal(a.counts("u", "127.0.0.1").user, 1);
    assert.equal(a.admit(s3, u), undefined);
    // Anonymous sessions have no user to count.
    assert.equal(a.admit(session("4"), undefined), undefined);
    assert.equal(a.admit(session("5"), undefined), undefined);
  });

  test("per address from transport open to close, CONNECT or not", () => {
    const a = new ConnectionAdmission({ maxConnectionsPerUser: 1, maxConnectionsPerAddress: 2 }, logger);
    assert.equal(a.open("10.0.0.1"), undefined);
    assert.equal(a.open("10.0.0.1"), undefined);
    const refused = a.open("10.0.0.1");
    assert.equal(refused?.limit, "connections-per-address");
    assert.match(refused?.message ?? "", /at most 2 connections from one address/);
    // The refused one took no slot; another address has its own.
    assert.equal(a.counts(undefined, "10.0.0.1").address, 2);
    assert.equal(a.open("10.0.0.2"), undefined);
    a.closed("10.0.0.1");
    assert.equal(a.open("10.0.0.1"), undefined);
    assert.equal(a.open("10.0.0.1")?.limit, "connections-per-address");
  });
});

describe("TrustedProxies (HERALD_TRUSTED_PROXIES)", () => {
  const xff = (v: string | undefined) => () => v;

  test("addresses are spelled one way: dual-stack uWS text, mapped IPv4, IPv6 case and zeros", () => {
    assert.equal(normalizeAddress("0000:0000:0000:0000:0000:ffff:7f00:0002"), "127.0.0.2");
    assert.equal(normalizeAddress("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(normalizeAddress("0000:0000:0000:0000:0000:0000:0000:0001"), "::1");
    assert.equal(normalizeAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    assert.equal(normalizeAddress("192.0.2.7"), "192.0.2.7");
    assert.equal(normalizeAddress("unknown"), undefined);
  });

  test("none trusted (the default): X-Forwarded-For is never read", () => {
    const p = trustedProxiesFromEnv({});
    assert.equal(p.isEmpty, true);
    assert.equal(p.clientAddress("0000:0000:0000:0000:0000:ffff:7f00:0001", () => assert.fail("read X-Forwarded-For")), "127.0.0.1");
  });

  test("from a trusted proxy: the right-most forwarded address that is not a trusted proxy", () => {
    const p = trustedProxiesFromEnv({ HERALD_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,fd00::/8" });
    assert.equal(p.clientAddress("127.0.0.1", xff("203.0.113.9")), "203.0.113.9");
    // A client-written value left of the real one is ignored; proxies in between are skipped.
    assert.equal(p.clientAddress("127.0.0.1", xff("6.6.6.6, 203.0.113.9, 10.1.1.1")), "203.0.113.9");
    assert.equal(p.clientAddress("::ffff:10.2.3.4", xff("[2001:DB8::5]:4431")), "2001:db8::5");
    assert.equal(p.clientAddress("fd00::1", xff("198.51.100.4:5678")), "198.51.100.4");
    // No header: the proxy itself. Every hop trusted: the farthest one.
    assert.equal(p.clientAddress("127.0.0.1", xff(undefined)), "127.0.0.1");
    assert.equal(p.clientAddress("127.0.0.1", xff("10.9.9.9, 10.0.0.1")), "10.9.9.9");
    // An unreadable hop ends the walk at the last trusted one, never left of it.
    assert.equal(p.clientAddress("127.0.0.1", xff("6.6.6.6, unknown, 10.0.0.1")), "10.0.0.1");
  });

  test("from any other peer: X-Forwarded-For is ignored", () => {
    const p = trustedProxiesFromEnv({ HERALD_TRUSTED_PROXIES: "10.0.0.0/8" });
    assert.equal(p.clientAddress("127.0.0.1", xff("203.0.113.9")), "127.0.0.1");
    assert.equal(p.trusts("11.0.0.1"), false);
    assert.equal(p.trusts("10.255.0.1"), true);
  });

  test("a bad entry is a configuration error naming the variable and the entry", () => {
    for (const bad of ["10.0.0.0/33", "proxy.example.com", "10.0.0.0/8/8", "::1/129", "*", "10.0.0.0/x"]) {
      assert.throws(() => trustedProxiesFromEnv({ HERALD_TRUSTED_PROXIES: bad }), (err: Error) => /HERALD_TRUSTED_PROXIES/.test(err.message) && err.message.includes(`"${bad}"`), bad);
    }
  });
});

describe("frame rate limiter (SEND, SUBSCRIBE)", () => {
  test("one bucket per session: the burst passes, then a message; other sessions unaffected", () => {
    for (const command of ["SEND", "SUBSCRIBE"] as const) {
      const take = createFrameRateLimiter(command, 1, 3, logger);
      const s = session("a");
      for (let i = 0; i < 3; i++) assert.equal(take(s), undefined);
      assert.equal(take(s), `more than 1 ${command} frames per second (burst 3) on this connection`);
      assert.equal(take(session("b")), undefined);
    }
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
  test("no JWT key and no rules file: anyone may connect, the open built-in rules (Spring's simple broker) decide destinations, limits on", () => {
    const s = edgeSecurityFromEnv({}, deps());
    assert.equal(s.authenticator, undefined);
    assert.ok(s.policy instanceof AclDestinationPolicy);
    assert.equal(s.policy.canSend(undefined, "/app/sendMessage"), undefined);
    assert.equal(s.policy.canSend(undefined, "/topic/x"), undefined);
    assert.equal(s.policy.canSend(undefined, "/queue/x"), undefined);
    assert.equal(s.policy.canSubscribe(undefined, "/topic/x"), undefined);
    assert.match(s.policy.canSubscribe(undefined, "/queue/dlq/user/alice/queue/x") ?? "", /dead letters/);
    assert.ok(s.admission);
    assert.equal(typeof s.sendLimiter, "function");
    assert.equal(typeof s.subscribeLimiter, "function");
  });
  test("a JWT key turns on the authenticator and the strict built-in rules", () => {
    const s = edgeSecurityFromEnv({ HERALD_JWT_SECRET: SECRET }, deps());
    assert.ok(s.authenticator instanceof JwtAuthenticator);
    assert.ok(s.policy instanceof AclDestinationPolicy);
    const bob = { user: "bob", claims: {} };
    assert.match(s.policy.canSend(bob, "/topic/x") ?? "", /no rule allows it/);
    assert.match(s.policy.canSubscribe(bob, "/queue/dlq/user/alice/queue/x") ?? "", /dead letters/);
    assert.equal(s.policy.canSubscribe(bob, "/queue/x"), undefined);
  });
  test("bad limit values are configuration errors naming the variable; limits read elsewhere are not re-read", () => {
    assert.throws(() => edgeSecurityFromEnv({ HERALD_SEND_RATE: "0" }, deps()), /HERALD_SEND_RATE/);
    assert.throws(() => edgeSecurityFromEnv({ HERALD_MAX_CONNECTIONS_PER_USER: "many" }, deps()), /HERALD_MAX_CONNECTIONS_PER_USER/);
    // The API reads HERALD_API_RATE (0 = off) and the edge HERALD_MAX_FRAME_BYTES: not this module's business.
    assert.doesNotThrow(() => edgeSecurityFromEnv({ HERALD_API_RATE: "0", HERALD_MAX_FRAME_BYTES: "512" }, deps()));
  });
});
