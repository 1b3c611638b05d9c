import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createAuthorizer, normalizeDestination, type Principal } from "../src/index.js";

const alice: Principal = { user: "alice", claims: { sub: "alice" } };

const SPOOFS: readonly string[] = [
  // another user's queue, spelled out
  "/user/B/queue/x",
  "/user/bob/queue/notifications",
  "/user/queue/../B",
  "/user/queue/../../user/B/queue/x",
  "/user/queue/./x",
  "/user/./queue/x",
  // percent-encoding, single and double, any case
  "/user/queue/%2e%2e/B",
  "/user/queue/%2E%2E/B",
  "/user/queue/..%2FB",
  "/user/queue/..%2fB",
  "/user%2FB/queue/x",
  "/user/queue/%252e%252e/B",
  "/user/queue/%25252e%25252e/B",
  "/user/queue/x%00",
  // backslashes
  "/user/queue\\..\\B",
  "/user\\B\\queue\\x",
  "/user/queue/..\\B",
  // NUL and other control characters
  "/user/queue/x\u0000",
  "/user/queue/\u0000../B",
  "/user/queue/x\n",
  "/user/queue/x\r\nreceipt:1",
  "/user/queue/a\tb",
  "/user/queue/x\u007f",
  "/user/queue/x\u0085",
  "/user/queue/\u202eB",
  "/user/queue/\u200bx",
  "/user/queue/a b",
  "/user/queue/\ud800",
  // empty segments and "//"
  "/user/queue//x",
  "//user/queue/x",
  "/user//B/queue/x",
  "/user/queue/x/",
  "/user/queue/",
  "/user/queue",
  "/user",
  "/user/",
  // wildcards and shapes
  "/user/queue/*",
  "/user/queue/**",
  "/user/*/queue/x",
  "/user/{claims.sub}/queue/x",
  "user/queue/x",
  "",
  "/",
  "/topic/" + "a".repeat(2000),
];

test("every spoofing spelling is refused by normalizeDestination", () => {
  for (const d of SPOOFS) {
    const n = normalizeDestination(d);
    assert.equal(n.ok, false, `accepted ${JSON.stringify(d)}`);
    if (!n.ok) assert.ok(n.reason.length > 0);
  }
});

test("…and by the authorizer for SUBSCRIBE and SEND, with the reason", () => {
  const auth = createAuthorizer();
  for (const d of SPOOFS) {
    for (const decide of [auth.canSubscribe, auth.canSend]) {
      const r = decide(alice, d);
      assert.equal(r.allowed, false, `allowed ${JSON.stringify(d)}`);
    }
  }
  const r = auth.canSubscribe(alice, "/user/queue/%2e%2e/B");
  assert.ok(!r.allowed && /percent-encoding/.test(r.reason), JSON.stringify(r));
  const r2 = auth.canSubscribe(alice, "/user/B/queue/x");
  assert.ok(!r2.allowed && /your own queue/.test(r2.reason), JSON.stringify(r2));
});

test("reasons name the problem", () => {
  const reason = (d: string): string => {
    const n = normalizeDestination(d);
    assert.ok(!n.ok);
    return n.reason;
  };
  assert.match(reason("/a//b"), /empty segment/);
  assert.match(reason("/a/../b"), /"\.\." segment/);
  assert.match(reason("/a\\b"), /backslash/);
  assert.match(reason("/a\u0000"), /U\+0000/);
  assert.match(reason("a"), /start with "\/"/);
  assert.match(reason("/topic/*"), /wildcards/);
});

test("ordinary destinations pass unchanged", () => {
  for (const d of ["/topic/stocks.AAPL", "/user/queue/notifications", "/app/chat", "/queue/jobs-1", "/topic/a.b/c-d_e~f:g@h", "/topic/日本"]) {
    assert.deepEqual(normalizeDestination(d), { ok: true, destination: d });
  }
});

/**
 * What a careless component downstream might do with a destination: decode
 * percent-escapes (repeatedly), treat "\" as "/", resolve "." and "..", drop
 * control characters. The property: whatever normalizeDestination accepts means
 * the same to such a component, so nothing accepted can be reinterpreted, and
 * no accepted user destination names anybody.
 */
function carelessResolve(d: string): string {
  let s = d;
  for (let i = 0; i < 4; i++) {
    try {
      s = decodeURIComponent(s);
    } catch {
      break;
    }
  }
  // eslint-disable-next-line no-control-regex
  s = s.replace(/\\/g, "/").replace(/[\u0000-\u001f\u007f]/g, "");
  const out: string[] = [];
  for (const seg of s.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

test("property: accepted destinations cannot be reinterpreted and never name another user", () => {
  // Mostly harmless pieces, with the dangerous ones mixed in rarely enough that many samples pass.
  const safe = fc.constantFrom(".", "..", "2", "e", "E", "f", "F", "5", "user", "queue", "B", "x", "-");
  const risky = fc.constantFrom("/", "%", "\\", "\u0000", "\n", " ", "*", "{", "}", "%2e", "%2F", "%25");
  const segment = fc.array(fc.oneof({ arbitrary: safe, weight: 12 }, { arbitrary: risky, weight: 1 }), { minLength: 1, maxLength: 4 }).map((p) => p.join(""));
  const prefix = fc.constantFrom("/", "/user/", "/user/queue/", "/topic/", "/user/queue/x/");
  const dest = fc.tuple(prefix, fc.array(segment, { minLength: 0, maxLength: 5 })).map(([p, segs]) => p + segs.join("/"));
  const auth = createAuthorizer();
  let accepted = 0;
  let acceptedUser = 0;
  fc.assert(
    fc.property(dest, (d) => {
      const n = normalizeDestination(d);
      if (!n.ok) return true;
      accepted += 1;
      assert.equal(n.destination, d);
      assert.equal(carelessResolve(d), d, `accepted ${JSON.stringify(d)} resolves elsewhere`);
      if (d.split("/")[1] === "user") {
        acceptedUser += 1;
        assert.ok(d.startsWith("/user/queue/"), `accepted user destination ${JSON.stringify(d)}`);
        assert.equal(auth.canSubscribe(alice, d).allowed, true);
      }
      return true;
    }),
    { numRuns: 3000 },
  );
  // The generator must actually reach accepted destinations for the property to mean anything.
  assert.ok(accepted > 300 && acceptedUser > 100, `only ${accepted} accepted (${acceptedUser} user)`);
});
