import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@herald/config";
import { createTokenVerifier } from "../src/index.js";
import { b64url, hmacSecret, keyPair, nowSec, rejectsWith, sign, tempDir, type KeyPair } from "./helpers.js";

describe("HMAC secret", () => {
  const secret = hmacSecret();
  const verifier = createTokenVerifier({ key: { kind: "secret", secret }, issuer: "https://idp.test", audience: "herald", clockToleranceSec: 0 });
  const base = { sub: "alice", iss: "https://idp.test", aud: "herald" };

  test("a valid HS256 token gives the principal with its claims and expiry", async () => {
    const exp = nowSec() + 60;
    const p = await verifier.verify(await sign({ ...base, exp, team: "red" }, secret, "HS256"));
    assert.equal(p.user, "alice");
    assert.equal(p.claims.team, "red");
    assert.equal(p.expiresAt, exp * 1000);
    assert.ok(Object.isFrozen(p.claims));
  });

  test("HS384 and HS512 pass too", async () => {
    for (const alg of ["HS384", "HS512"]) assert.equal((await verifier.verify(await sign(base, secret, alg))).user, "alice");
  });

  test("expired", async () => {
    await rejectsWith(verifier.verify(await sign({ ...base, exp: nowSec() - 10 }, secret, "HS256")), "expired", /expired at \d{4}-/);
  });

  test("a token without exp is refused: it would give a session that never ends", async () => {
    await rejectsWith(verifier.verify(await sign({ ...base, exp: undefined }, secret, "HS256")), "no-expiry", /no "exp" claim/);
  });

  test("maxSessionWithoutExpSec accepts tokens without exp, for that long from now", async () => {
    const lenient = createTokenVerifier({ key: { kind: "secret", secret }, maxSessionWithoutExpSec: 600 });
    const before = Date.now();
    const p = await lenient.verify(await sign({ sub: "nina", exp: undefined }, secret, "HS256"));
    assert.ok(p.expiresAt !== undefined && p.expiresAt >= before + 600_000 && p.expiresAt <= Date.now() + 600_000, String(p.expiresAt));
    // A token that has exp keeps its own.
    const exp = nowSec() + 60;
    assert.equal((await lenient.verify(await sign({ sub: "nina", exp }, secret, "HS256"))).expiresAt, exp * 1000);
    assert.throws(() => createTokenVerifier({ key: { kind: "secret", secret }, maxSessionWithoutExpSec: 0 }), ConfigError);
  });

  test("not yet valid", async () => {
    await rejectsWith(verifier.verify(await sign({ ...base, nbf: nowSec() + 120 }, secret, "HS256")), "not-yet-valid", /nbf/);
  });

  test("signed with another secret", async () => {
    await rejectsWith(verifier.verify(await sign(base, hmacSecret(), "HS256")), "bad-signature");
  });

  test("tampered payload", async () => {
    const token = await sign(base, secret, "HS256");
    const [h, , s] = token.split(".");
    await rejectsWith(verifier.verify(`${h}.${b64url({ ...base, sub: "mallory" })}.${s}`), "bad-signature");
  });

  test("wrong audience and wrong issuer", async () => {
    await rejectsWith(verifier.verify(await sign({ ...base, aud: "other" }, secret, "HS256")), "wrong-audience", /"herald"/);
    await rejectsWith(verifier.verify(await sign({ ...base, iss: "https://evil.test" }, secret, "HS256")), "wrong-issuer", /idp\.test/);
  });

  test("alg none, crafted by hand, is refused whatever the signature part", async () => {
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(base)}.`;
    await rejectsWith(verifier.verify(unsigned), "algorithm-refused", /"none"/);
    await rejectsWith(verifier.verify(`${b64url({ alg: "None" })}.${b64url(base)}.`), "algorithm-refused");
    await rejectsWith(verifier.verify(`${b64url({ alg: "none" })}.${b64url(base)}.c2ln`), "algorithm-refused");
  });

  test("an RS256 token is refused by a secret-configured verifier", async () => {
    const rsa = keyPair("rsa");
    await rejectsWith(verifier.verify(await sign(base, rsa.privateKey, "RS256")), "algorithm-refused");
  });

  test("missing and malformed tokens", async () => {
    await rejectsWith(verifier.verify(undefined), "missing");
    await rejectsWith(verifier.verify("   "), "missing");
    await rejectsWith(verifier.verify("not-a-jwt"), "malformed");
    await rejectsWith(verifier.verify("a.b.c.d.e"), "malformed", /JWE/);
    await rejectsWith(verifier.verify(`${b64url({ alg: "HS256" }).slice(0, -2)}!!.x.y`), "malformed");
    await rejectsWith(verifier.verify(`${Buffer.from("{not json").toString("base64url")}.${b64url(base)}.sig`), "malformed");
    await rejectsWith(verifier.verify(`${b64url({ typ: "JWT" })}.${b64url(base)}.sig`), "malformed", /alg/);
    await rejectsWith(verifier.verify("x".repeat(20_000)), "malformed", /longer/);
  });

  test("no user claim, or an unusable one", async () => {
    await rejectsWith(verifier.verify(await sign({ iss: base.iss, aud: base.aud }, secret, "HS256")), "no-user-claim", /"sub"/);
    await rejectsWith(verifier.verify(await sign({ ...base, sub: "" }, secret, "HS256")), "no-user-claim");
  });

  test("error messages never contain the secret", async () => {
    const errors = await Promise.all([
      rejectsWith(verifier.verify(await sign(base, hmacSecret(), "HS256")), "bad-signature"),
      rejectsWith(verifier.verify(await sign({ ...base, exp: nowSec() - 10 }, secret, "HS256")), "expired"),
    ]);
    for (const e of errors) assert.ok(!e.message.includes(secret) && !String(e.stack).includes(secret));
  });

  test("clock tolerance accepts a token that just expired", async () => {
    const lenient = createTokenVerifier({ key: { kind: "secret", secret }, clockToleranceSec: 30 });
    const p = await lenient.verify(await sign({ sub: "bob", exp: nowSec() - 5 }, secret, "HS256"));
    assert.equal(p.user, "bob");
    assert.equal(lenient.clockToleranceMs, 30_000);
  });

  test("custom and nested user claims", async () => {
    const byEmail = createTokenVerifier({ key: { kind: "secret", secret }, userClaim: "email" });
    assert.equal((await byEmail.verify(await sign({ sub: "x", email: "a@b.test" }, secret, "HS256"))).user, "a@b.test");
    const nested = createTokenVerifier({ key: { kind: "secret", secret }, userClaim: "profile.login" });
    assert.equal((await nested.verify(await sign({ profile: { login: "carol" } }, secret, "HS256"))).user, "carol");
    const numeric = createTokenVerifier({ key: { kind: "secret", secret }, userClaim: "uid" });
    assert.equal((await numeric.verify(await sign({ uid: 42 }, secret, "HS256"))).user, "42");
    await rejectsWith(numeric.verify(await sign({ uid: { a: 1 } }, secret, "HS256")), "no-user-claim", /"uid"/);
  });

  test("authenticate: anonymous only when allowed and no token at all", async () => {
    const open = createTokenVerifier({ key: { kind: "secret", secret }, allowAnonymous: true });
    assert.equal(await open.authenticate(undefined), undefined);
    assert.equal((await open.authenticate(await sign({ sub: "dan" }, secret, "HS256")))?.user, "dan");
    await rejectsWith(open.authenticate(await sign({ sub: "dan" }, hmacSecret(), "HS256")), "bad-signature");
    await rejectsWith(verifier.authenticate(undefined), "missing");
  });

  test("a short secret is a configuration error that does not echo it", () => {
    assert.throws(
      () => createTokenVerifier({ key: { kind: "secret", secret: "short-secret" } }),
      (e: unknown) => e instanceof ConfigError && /at least 32 bytes, got 12/.test(e.message) && !e.message.includes("short-secret"),
    );
  });

  test("an algorithm list is restricted to what the key admits", async () => {
    assert.throws(() => createTokenVerifier({ key: { kind: "secret", secret }, algorithms: ["RS256"] }), /RS256 cannot be used with a shared secret/);
    assert.throws(() => createTokenVerifier({ key: { kind: "secret", secret }, algorithms: ["none"] }), /unknown algorithm "none"/);
    const only512 = createTokenVerifier({ key: { kind: "secret", secret }, algorithms: ["HS512"] });
    await rejectsWith(only512.verify(await sign({ sub: "a" }, secret, "HS256")), "algorithm-refused", /HS512/);
    assert.equal((await only512.verify(await sign({ sub: "a" }, secret, "HS512"))).user, "a");
  });
});

describe("PEM public keys", () => {
  const tmp = tempDir();
  let rsa: KeyPair;
  let ec: KeyPair;
  let ed: KeyPair;
  before(() => {
    rsa = keyPair("rsa");
    ec = keyPair("ec-p256");
    ed = keyPair("ed25519");
  });
  after(() => tmp.dispose());

  test("RS256, PS256, ES256 and EdDSA tokens verify with the public key file", async () => {
    const cases: [KeyPair, string[]][] = [
      [rsa, ["RS256", "RS512", "PS256"]],
      [ec, ["ES256"]],
      [ed, ["EdDSA"]],
    ];
    for (const [pair, algs] of cases) {
      const path = tmp.file(`${algs[0]}.pem`, pair.publicPem);
      const v = createTokenVerifier({ key: { kind: "public-key-file", path } });
      for (const alg of algs) {
        const p = await v.verify(await sign({ sub: `u-${alg}`, exp: nowSec() + 60 }, pair.privateKey, alg));
        assert.equal(p.user, `u-${alg}`);
      }
    }
  });

  test("HS/RS confusion: an HS256 token keyed with the public PEM text is refused", async () => {
    const v = createTokenVerifier({ key: { kind: "public-key", pem: rsa.publicPem } });
    const forged = await sign({ sub: "admin" }, rsa.publicPem, "HS256");
    await rejectsWith(v.verify(forged), "algorithm-refused", /RS256/);
    // Also with the DER bytes and PKCS#1 form of the public key as the "secret".
    const der = new Uint8Array(rsa.publicKey.export({ type: "spki", format: "der" }));
    await rejectsWith(v.verify(await sign({ sub: "admin" }, der, "HS256")), "algorithm-refused");
    const pkcs1 = rsa.publicKey.export({ type: "pkcs1", format: "pem" }).toString();
    await rejectsWith(v.verify(await sign({ sub: "admin" }, pkcs1, "HS256")), "algorithm-refused");
  });

  test("a signature from another key pair of the same type is refused", async () => {
    const v = createTokenVerifier({ key: { kind: "public-key", pem: ec.publicPem } });
    await rejectsWith(v.verify(await sign({ sub: "a" }, keyPair("ec-p256").privateKey, "ES256")), "bad-signature");
  });

  test("an EC P-256 key admits only ES256", async () => {
    const v = createTokenVerifier({ key: { kind: "public-key", pem: ec.publicPem } });
    const p384 = keyPair("ec-p384");
    await rejectsWith(v.verify(await sign({ sub: "a" }, p384.privateKey, "ES384")), "algorithm-refused", /allowed: ES256/);
    assert.throws(() => createTokenVerifier({ key: { kind: "public-key", pem: ec.publicPem }, algorithms: ["RS256"] }), /RS256 cannot be used with an EC public key/);
  });

  test("bad key files are configuration errors naming the problem", () => {
    assert.throws(() => createTokenVerifier({ key: { kind: "public-key-file", path: `${tmp.dir}/nope.pem` } }), /cannot read file .*nope\.pem: ENOENT/);
    const priv = tmp.file("priv.pem", rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    assert.throws(() => createTokenVerifier({ key: { kind: "public-key-file", path: priv } }), /private key/);
    const junk = tmp.file("junk.pem", "hello");
    assert.throws(() => createTokenVerifier({ key: { kind: "public-key-file", path: junk } }), /not a PEM/);
  });
});
