import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiKeys, isLoopbackAddress } from "../src/index.js";
import { startApi, post, get } from "./harness.js";

const body = { destination: "/topic/x", body: "x" };

test("with API keys: the right key is accepted, a wrong or missing one gets 401 JSON", async () => {
  const h = await startApi({ apiKeys: ["alpha-key", "beta-key"] });
  const N = `${h.url}/v1/notifications`;
  try {
    assert.equal((await post(N, body, { authorization: "Bearer beta-key" })).status, 202);
    assert.equal((await post(N, body, { authorization: "bearer alpha-key" })).status, 202);
    const wrong = await post(N, body, { authorization: "Bearer alpha-kez" });
    assert.deepEqual([wrong.status, wrong.json], [401, { error: "invalid API key", field: null }]);
    const prefix = await post(N, body, { authorization: "Bearer alpha" });
    assert.equal(prefix.status, 401);
    const missing = await post(N, body);
    assert.equal(missing.status, 401);
    assert.match(missing.json.error as string, /missing API key/);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="herald"');
    assert.equal((await post(N, body, { authorization: "Basic YTpi" })).status, 401);
    assert.equal((await get(`${N}/x`)).status, 401);
    // The OpenAPI document is public.
    assert.equal((await get(`${h.url}/v1/openapi.json`)).status, 200);
    assert.ok(!h.logs.some((l) => l.includes("HERALD_API_KEYS is not set")));
  } finally {
    await h.close();
  }
});

test("without API keys: loopback clients are accepted and mountApi warns at start-up", async () => {
  const h = await startApi({ apiKeys: [] });
  try {
    assert.equal((await post(`${h.url}/v1/notifications`, body)).status, 202);
    assert.ok(h.logs.some((l) => l.includes('"level":40') && l.includes("only loopback clients")), h.logs.join(""));
    // A reverse proxy on this host forwards remote clients from a loopback address: not local.
    for (const forwarded of [{ "x-forwarded-for": "203.0.113.7" }, { forwarded: "for=203.0.113.7" }] as Record<string, string>[]) {
      const res = await post(`${h.url}/v1/notifications`, body, forwarded);
      assert.equal(res.status, 403);
      assert.match(String(res.json.error), /came through a proxy/);
    }
  } finally {
    await h.close();
  }
});

test("without API keys a non-loopback client is refused with 403 (decision for the address uWS reports)", () => {
  const none = new ApiKeys([]);
  assert.deepEqual(none.authenticate("", "127.0.0.1"), { ok: true, principal: "loopback" });
  assert.deepEqual(none.authenticate("", "0000:0000:0000:0000:0000:0000:0000:0001"), { ok: true, principal: "loopback" });
  const refused = none.authenticate("Bearer anything", "10.1.2.3");
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.status, 403);
  assert.equal(none.authenticate("", "0000:0000:0000:0000:0000:ffff:0a01:0203").ok, false);
});

test("isLoopbackAddress knows every form of 127/8 and ::1, and nothing else", () => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "0000:0000:0000:0000:0000:0000:0000:0001", "::ffff:127.0.0.1", "0000:0000:0000:0000:0000:ffff:7f00:0001", "::ffff:7f00:1"]) {
    assert.equal(isLoopbackAddress(a), true, a);
  }
  for (const a of ["10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "0000:0000:0000:0000:0000:ffff:0a00:0001", "fe80::1", "1::1", "", "garbage", "127.0.0.1.evil"]) {
    assert.equal(isLoopbackAddress(a), false, a);
  }
});

test("rate limit per key: over the burst → 429 with Retry-After; another key has its own budget", async () => {
  const h = await startApi({ apiKeys: ["k1", "k2"], ratePerSec: 1, burst: 2 });
  const N = `${h.url}/v1/notifications`;
  try {
    const k1 = { authorization: "Bearer k1" };
    assert.equal((await post(N, body, k1)).status, 202);
    assert.equal((await post(N, body, k1)).status, 202);
    const limited = await post(N, body, k1);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    assert.equal(limited.json.field, null);
    assert.equal((await post(N, body, { authorization: "Bearer k2" })).status, 202);
  } finally {
    await h.close();
  }
});
