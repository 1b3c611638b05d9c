import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { validateNotification } from "../src/index.js";

const ok = { destination: "/topic/prices.AAPL", body: "x" };

function error(input: unknown, opts = {}): { field: string; error: string } {
  const r = validateNotification(input, opts);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  return r as { field: string; error: string };
}

test("a minimal broker notification is normalized with defaults", () => {
  const r = validateNotification(ok, { createdAt: 123 });
  assert.deepEqual(r, { ok: true, value: { destination: "/topic/prices.AAPL", body: "x", contentType: "text/plain", headers: {}, createdAt: 123 } });
});

test("a user notification on /queue/ keeps user, headers, key and createdAt", () => {
  const input = { user: "alice", destination: "/queue/notifications", body: "{}", contentType: "application/json", headers: { "x-a": "1" }, idempotencyKey: "k1", createdAt: 5 };
  assert.deepEqual(validateNotification(input), { ok: true, value: input });
});

test("destinations outside /topic/ and /queue/ are rejected with the field named", () => {
  for (const destination of ["/app/x", "/user/alice/queue/x", "topic/x", "/topic/", "/topic", "/exchange/x", "/queue/a//b", "/topic/a b", "/topic/a*", "/topic/a/#", "/topic/a/", "/topic/\u00e9"]) {
    assert.equal(error({ ...ok, destination }).field, "destination", destination);
  }
  assert.equal(error({ body: "x" }).field, "destination");
  assert.equal(error({ ...ok, destination: 5 }).field, "destination");
  assert.equal(error({ ...ok, destination: "/topic/" + "a".repeat(600) }).field, "destination");
});

test("a user destination must be under /queue/", () => {
  const e = error({ user: "alice", destination: "/topic/x", body: "" });
  assert.equal(e.field, "destination");
  assert.match(e.error, /user destination must start with \/queue\//);
  assert.equal(error({ user: "", destination: "/queue/x", body: "" }).field, "user");
  assert.equal(error({ user: "a\nb", destination: "/queue/x", body: "" }).field, "user");
  assert.equal(error({ user: 7, destination: "/queue/x", body: "" }).field, "user");
});

test("reserved headers cannot be overridden, in any case", () => {
  for (const name of ["destination", "subscription", "message-id", "content-length", "content-type", "Content-Type", "MESSAGE-ID"]) {
    const e = error({ ...ok, headers: { [name]: "v" } });
    assert.equal(e.field, `headers.${name}`);
    assert.match(e.error, /set by the gateway/);
  }
});

test("header names and values must be printable; no CR, LF, NUL or colon", () => {
  assert.equal(error({ ...ok, headers: { "a:b": "v" } }).field, "headers.a:b");
  assert.equal(error({ ...ok, headers: { "a b": "v" } }).field, "headers.a b");
  assert.equal(error({ ...ok, headers: { "": "v" } }).field, "headers.");
  assert.equal(error({ ...ok, headers: { a: "x\ny" } }).field, "headers.a");
  assert.equal(error({ ...ok, headers: { a: "x\ry" } }).field, "headers.a");
  assert.equal(error({ ...ok, headers: { a: "x\u0000y" } }).field, "headers.a");
  assert.equal(error({ ...ok, headers: { a: 1 } }).field, "headers.a");
  assert.equal(error({ ...ok, headers: ["a"] }).field, "headers");
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, "v"]));
  assert.equal(error({ ...ok, headers: many }).field, "headers");
  assert.equal(validateNotification({ ...ok, headers: { "x-tab": "a\tb", "x-utf8": "é✓" } }).ok, true);
});

test("property: no header that validates carries CR, LF, NUL or a colon in its name", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (name, value) => {
      const r = validateNotification({ ...ok, headers: { [name]: value } });
      if (r.ok) {
        assert.ok(!/[\r\n\0:]/.test(name) && !/[\r\n\0]/.test(value));
      }
    }),
    { numRuns: 2000 },
  );
});

test("body must be a string within the byte limit (counted in UTF-8)", () => {
  assert.equal(error({ destination: "/topic/x" }).field, "body");
  assert.equal(error({ destination: "/topic/x", body: { a: 1 } }).field, "body");
  assert.equal(validateNotification({ ...ok, body: "é".repeat(10) }, { maxBodyBytes: 20 }).ok, true);
  const e = error({ ...ok, body: "é".repeat(11) }, { maxBodyBytes: 20 });
  assert.equal(e.field, "body");
  assert.match(e.error, /larger than 20 bytes/);
  assert.equal(error({ ...ok, body: "x".repeat(64 * 1024 + 1) }).field, "body");
});

test("unknown fields, bad contentType, key and createdAt are named", () => {
  const e = error({ ...ok, destiantion: "/topic/x" });
  assert.equal(e.field, "destiantion");
  assert.match(e.error, /unknown field/);
  assert.equal(error({ ...ok, contentType: "" }).field, "contentType");
  assert.equal(error({ ...ok, contentType: "text/plain\r\nx: y" }).field, "contentType");
  assert.equal(error({ ...ok, idempotencyKey: "" }).field, "idempotencyKey");
  assert.equal(error({ ...ok, idempotencyKey: "k".repeat(257) }).field, "idempotencyKey");
  assert.equal(error({ ...ok, createdAt: -1 }).field, "createdAt");
  assert.equal(error({ ...ok, createdAt: "now" }).field, "createdAt");
  assert.equal(error(null).field, "notification");
  assert.equal(error([ok]).field, "notification");
});
