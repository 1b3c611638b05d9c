import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@herald/config";
import { createTokenVerifier, jwtConfigFromEnv } from "../src/index.js";
import { hmacSecret, keyPair, sign, tempDir } from "./helpers.js";

function configError(variable: RegExp, message: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof ConfigError && variable.test(e.variable) && message.test(e.message);
}

test("no JWT settings at all: undefined (the gateway stays open)", () => {
  assert.equal(jwtConfigFromEnv({}), undefined);
  assert.equal(jwtConfigFromEnv({ HERALD_ALLOW_ANONYMOUS: "true", HERALD_JWT_SECRET: " " }), undefined);
});

test("secret from the environment, with issuer, audience lists, algorithms and user claim", async () => {
  const secret = hmacSecret();
  const config = jwtConfigFromEnv({
    HERALD_JWT_SECRET: secret,
    HERALD_JWT_ISSUER: "https://a.test, https://b.test",
    HERALD_JWT_AUDIENCE: "herald",
    HERALD_JWT_ALGORITHMS: "HS256,HS512",
    HERALD_JWT_USER_CLAIM: "preferred_username",
    HERALD_ALLOW_ANONYMOUS: "yes",
  });
  assert.ok(config);
  assert.deepEqual(config.issuer, ["https://a.test", "https://b.test"]);
  assert.deepEqual(config.algorithms, ["HS256", "HS512"]);
  assert.equal(config.allowAnonymous, true);
  const v = createTokenVerifier(config);
  const p = await v.verify(await sign({ preferred_username: "erin", iss: "https://b.test", aud: "herald" }, secret, "HS512"));
  assert.equal(p.user, "erin");
  assert.equal(await v.authenticate(undefined), undefined);
});

test("base64: secrets are decoded to bytes", async () => {
  const bytes = new Uint8Array(48).map((_, i) => (i * 37) & 0xff);
  const config = jwtConfigFromEnv({ HERALD_JWT_SECRET: `base64:${Buffer.from(bytes).toString("base64")}` });
  assert.ok(config);
  const v = createTokenVerifier(config);
  assert.equal((await v.verify(await sign({ sub: "bin" }, bytes, "HS256"))).user, "bin");
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_SECRET: "base64:***" }), configError(/HERALD_JWT_SECRET/, /not base64/));
});

test("HERALD_JWT_NO_EXP_MAX_SESSION_S: unset refuses tokens without exp; a number of seconds accepts them", () => {
  assert.equal(jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret() })?.maxSessionWithoutExpSec, undefined);
  assert.equal(jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret(), HERALD_JWT_NO_EXP_MAX_SESSION_S: "3600" })?.maxSessionWithoutExpSec, 3600);
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret(), HERALD_JWT_NO_EXP_MAX_SESSION_S: "0" }), configError(/^HERALD_JWT_NO_EXP_MAX_SESSION_S$/, /at least 1/));
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_NO_EXP_MAX_SESSION_S: "60" }), configError(/^HERALD_JWT_NO_EXP_MAX_SESSION_S$/, /no key is/));
});

test("anonymous defaults to false once a key is set", () => {
  const config = jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret() });
  assert.equal(config?.allowAnonymous, false);
});

test("public key file is read and checked at start-up", () => {
  const tmp = tempDir();
  try {
    const ec = keyPair("ec-p256");
    const path = tmp.file("key.pem", ec.publicPem);
    const config = jwtConfigFromEnv({ HERALD_JWT_PUBLIC_KEY_FILE: path });
    assert.deepEqual(config?.key, { kind: "public-key-file", path });
    assert.throws(
      () => jwtConfigFromEnv({ HERALD_JWT_PUBLIC_KEY_FILE: path, HERALD_JWT_ALGORITHMS: "HS256" }),
      configError(/^HERALD_JWT_ALGORITHMS$/, /HS256 cannot be used with an EC public key/),
    );
    assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_PUBLIC_KEY_FILE: `${tmp.dir}/missing.pem` }), configError(/^HERALD_JWT_PUBLIC_KEY_FILE$/, /ENOENT/));
  } finally {
    tmp.dispose();
  }
});

test("mistakes are ConfigErrors naming the variable", () => {
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_SECRET: "too-short" }), configError(/^HERALD_JWT_SECRET$/, /at least 32 bytes/));
  assert.throws(
    () => jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret(), HERALD_JWT_JWKS_URL: "https://idp.test/jwks" }),
    configError(/HERALD_JWT_SECRET, HERALD_JWT_JWKS_URL/, /only one/),
  );
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_AUDIENCE: "herald" }), configError(/^HERALD_JWT_AUDIENCE$/, /no key is/));
  assert.throws(() => jwtConfigFromEnv({ HERALD_ALLOW_ANONYMOUS: "false" }), configError(/^HERALD_ALLOW_ANONYMOUS$/, /no key/));
  assert.throws(() => jwtConfigFromEnv({ HERALD_ALLOW_ANONYMOUS: "maybe" }), configError(/^HERALD_ALLOW_ANONYMOUS$/, /true or false/));
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_JWKS_URL: "ftp://idp.test/jwks" }), configError(/^HERALD_JWT_JWKS_URL$/, /http\(s\)/));
  assert.throws(() => jwtConfigFromEnv({ HERALD_JWT_JWKS_URL: "https://idp.test/jwks", HERALD_JWT_ALGORITHMS: "RS256,XX9" }), configError(/^HERALD_JWT_ALGORITHMS$/, /unknown algorithm "XX9"/));
  assert.throws(
    () => jwtConfigFromEnv({ HERALD_JWT_SECRET: hmacSecret(), HERALD_JWT_CLOCK_TOLERANCE_SEC: "-1" }),
    configError(/^HERALD_JWT_CLOCK_TOLERANCE_SEC$/, /at least 0/),
  );
});
