import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, type JWK } from "jose";
import { createTokenVerifier } from "../src/index.js";
import { keyPair, nowSec, rejectsWith, sign, type KeyPair } from "./helpers.js";

/** A real JWKS endpoint on loopback whose key set the test swaps. */
let server: Server;
let url: string;
let keys: JWK[] = [];
let status = 200;
let fetches = 0;

async function publicJwk(pair: KeyPair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
}

before(async () => {
  server = createServer((req, res) => {
    fetches += 1;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test("JWKS: tokens verify, keys are cached, and a rotated key is picked up", async () => {
  const k1 = keyPair("rsa");
  const k2 = keyPair("ec-p256");
  keys = [await publicJwk(k1, "k1", "RS256")];
  fetches = 0;
  const v = createTokenVerifier({ key: { kind: "jwks", url, cooldownMs: 100 }, audience: "herald" });

  for (let i = 0; i < 3; i++) {
    const p = await v.verify(await sign({ sub: `u${i}`, aud: "herald", exp: nowSec() + 60 }, k1.privateKey, "RS256", { kid: "k1" }));
    assert.equal(p.user, `u${i}`);
  }
  assert.equal(fetches, 1, "the key set is fetched once and cached");

  // The identity provider rotates to k2 and drops k1.
  keys = [await publicJwk(k2, "k2", "ES256")];
  await new Promise((r) => setTimeout(r, 150)); // past the refetch cooldown
  const p = await v.verify(await sign({ sub: "after-rotation", aud: "herald" }, k2.privateKey, "ES256", { kid: "k2" }));
  assert.equal(p.user, "after-rotation");
  assert.equal(fetches, 2, "an unknown kid triggered exactly one refetch");

  await new Promise((r) => setTimeout(r, 150));
  await rejectsWith(v.verify(await sign({ sub: "old", aud: "herald" }, k1.privateKey, "RS256", { kid: "k1" })), "bad-signature", /no key/);
});

test("JWKS: a token signed by a key not in the set, and HS256 tokens, are refused", async () => {
  const k1 = keyPair("ed25519");
  keys = [await publicJwk(k1, "e1", "EdDSA")];
  const v = createTokenVerifier({ key: { kind: "jwks", url, cooldownMs: 100 } });
  assert.equal((await v.verify(await sign({ sub: "ed" }, k1.privateKey, "EdDSA", { kid: "e1" }))).user, "ed");
  await rejectsWith(v.verify(await sign({ sub: "ed" }, keyPair("ed25519").privateKey, "EdDSA", { kid: "e1" })), "bad-signature");
  await rejectsWith(v.verify(await sign({ sub: "x" }, "k".repeat(40), "HS256", { kid: "e1" })), "algorithm-refused");
  assert.throws(() => createTokenVerifier({ key: { kind: "jwks", url }, algorithms: ["HS256"] }), /HS256 cannot be used with a JWKS/);
});

test("JWKS: an endpoint that fails gives key-unavailable, not a client error", async () => {
  const k1 = keyPair("ec-p256");
  status = 503;
  try {
    const v = createTokenVerifier({ key: { kind: "jwks", url, cooldownMs: 100 } });
    await rejectsWith(v.verify(await sign({ sub: "a" }, k1.privateKey, "ES256", { kid: "x" })), "key-unavailable", /JWKS/);
  } finally {
    status = 200;
  }
  // A port that was just free and is closed again: connection refused.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const dead = createTokenVerifier({ key: { kind: "jwks", url: `http://127.0.0.1:${deadPort}/jwks`, timeoutMs: 2000 } });
  await rejectsWith(dead.verify(await sign({ sub: "a" }, k1.privateKey, "ES256", { kid: "x" })), "key-unavailable");
});

test("JWKS URL must be http(s)", () => {
  assert.throws(() => createTokenVerifier({ key: { kind: "jwks", url: "file:///etc/jwks.json" } }), /must be an http\(s\) URL/);
  assert.throws(() => createTokenVerifier({ key: { kind: "jwks", url: "not a url" } }), /not a valid URL/);
});
