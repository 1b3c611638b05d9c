import { test } from "node:test";
import assert from "node:assert/strict";
import { isCluster, parseRedisUrl, redact } from "../src/index.js";
import { ConfigError } from "@herald/config";

test("redis:// with defaults", () => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1"), { kind: "standalone", host: "127.0.0.1", port: 6379, db: 0, tls: false });
});

test("redis:// with credentials, port and db", () => {
  assert.deepEqual(parseRedisUrl("redis://alice:s%40cret@cache.local:6380/3"), {
    kind: "standalone",
    host: "cache.local",
    port: 6380,
    db: 3,
    tls: false,
    username: "alice",
    password: "s@cret",
  });
});

test("redis:// with a password for the default user", () => {
  const t = parseRedisUrl("redis://:pw@h:1");
  assert.equal(t.kind, "standalone");
  assert.equal(t.password, "pw");
  assert.equal(t.username, undefined);
});

test("rediss:// turns TLS on", () => {
  const t = parseRedisUrl("rediss://h:6390");
  assert.equal(t.kind === "standalone" && t.tls, true);
});

test("IPv6 in brackets", () => {
  assert.deepEqual(parseRedisUrl("redis://[::1]:7000"), { kind: "standalone", host: "::1", port: 7000, db: 0, tls: false });
});

test("redis+cluster:// lists seed nodes", () => {
  const t = parseRedisUrl("redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7001,node3");
  assert.deepEqual(t, {
    kind: "cluster",
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "node3", port: 6379 },
    ],
    tls: false,
    username: "u",
    password: "p",
  });
  assert.equal(isCluster(t), true);
  assert.equal(isCluster(parseRedisUrl("redis://h")), false);
  assert.equal(parseRedisUrl("rediss+cluster://a:1").kind, "cluster");
});

test("redis+sentinel:// with password, master and db", () => {
  assert.deepEqual(parseRedisUrl("redis+sentinel://pw@s1:26379,s2/mymaster/2?sentinelPassword=sp"), {
    kind: "sentinel",
    sentinels: [
      { host: "s1", port: 26379 },
      { host: "s2", port: 26379 },
    ],
    masterName: "mymaster",
    db: 2,
    password: "pw",
    sentinelPassword: "sp",
  });
  assert.deepEqual(parseRedisUrl("redis+sentinel://s1:5000/m"), {
    kind: "sentinel",
    sentinels: [{ host: "s1", port: 5000 }],
    masterName: "m",
    db: 0,
  });
});

const bad: Array<[string, RegExp]> = [
  ["", /REDIS_URL: is empty/],
  ["localhost:6379", /expected <scheme>:\/\//],
  ["http://h:1", /unknown scheme "http:\/\/"/],
  ["redis://", /no host given/],
  ["redis://a:1,b:2", /exactly one host/],
  ["redis://h:port", /port "port" .* is not a number/],
  ["redis://h:70000", /out of range/],
  ["redis://h:0", /out of range/],
  ["redis://h/abc", /database "\/abc"/],
  ["redis://bob@h", /user name without a password/],
  ["redis://::1:6379", /must be written in brackets/],
  ["redis://[::1:6379", /unterminated IPv6/],
  ["redis+cluster://a:1,,b:2", /empty entry/],
  ["redis+cluster://a:1/2", /only database 0/],
  ["redis+sentinel://s1:26379", /needs the master name/],
  ["redis+sentinel://s1/m/x", /database "\/x"/],
  ["redis+sentinel://s1/m/1/2", /expected \/<masterName>/],
  ["redis://h?foo=1", /unknown query parameter "foo"/],
  ["redis://h o:1", /not allowed in a host name/],
  ["redis://u:%E0%A4%A@h", /not valid percent-encoding/],
];

for (const [url, message] of bad) {
  test(`rejects ${JSON.stringify(url)}`, () => {
    assert.throws(() => parseRedisUrl(url), (err: Error) => {
      // A ConfigError, so that the CLI stops with its one line and exit code 78.
      assert.ok(err instanceof ConfigError && err.variable === "REDIS_URL", `${err.name}: ${err.message}`);
      assert.match(err.message, message);
      return true;
    });
  });
}

test("errors never show the password", () => {
  assert.throws(() => parseRedisUrl("redis://u:topsecret@h:99999"), (err: Error) => !err.message.includes("topsecret"));
  assert.equal(redact("redis://u:pw@h"), "redis://u:***@h");
  assert.equal(redact("redis+sentinel://pw@s/m"), "redis+sentinel://***@s/m");
  assert.equal(redact("redis://h:1"), "redis://h:1");
});
