import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthError, checkRefresh, createTokenVerifier, msUntilExpiry, type Principal } from "../src/index.js";
import { hmacSecret, nowSec, sign } from "./helpers.js";

test("ms until expiry", () => {
  const p: Principal = { user: "a", claims: {}, expiresAt: 10_000 };
  assert.equal(msUntilExpiry(p, 4_000), 6_000);
  assert.equal(msUntilExpiry(p, 12_000), 0);
  assert.equal(msUntilExpiry(p, 12_000, 5_000), 3_000);
  assert.equal(msUntilExpiry({ user: "a", claims: {} }, 0), undefined);
  assert.equal(msUntilExpiry(undefined), undefined);
});

test("the expiry of a real token", async () => {
  const secret = hmacSecret();
  const v = createTokenVerifier({ key: { kind: "secret", secret } });
  const p = await v.verify(await sign({ sub: "a", exp: nowSec() + 30 }, secret, "HS256"));
  const ms = msUntilExpiry(p);
  assert.ok(ms !== undefined && ms > 28_000 && ms <= 30_000, `got ${ms}`);
});

test("refresh: same user keeps the new token, another user is refused", async () => {
  const secret = hmacSecret();
  const v = createTokenVerifier({ key: { kind: "secret", secret } });
  const current = await v.verify(await sign({ sub: "alice", exp: nowSec() + 10 }, secret, "HS256"));
  const fresh = await v.verify(await sign({ sub: "alice", exp: nowSec() + 3600 }, secret, "HS256"));
  assert.equal(checkRefresh(current, fresh), fresh);
  const other = await v.verify(await sign({ sub: "mallory", exp: nowSec() + 3600 }, secret, "HS256"));
  assert.throws(() => checkRefresh(current, other), (e: unknown) => e instanceof AuthError && e.reason === "user-changed");
});
