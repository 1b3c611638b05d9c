import { test } from "node:test";
import assert from "node:assert/strict";
import { startBanner } from "../src/banner.js";
import { logSettingsFromEnv, showsBanner } from "../src/log-settings.js";

const ALL = new Set(["edge", "api", "worker"] as const);

test("the banner shows localhost for a wildcard address, brackets an IPv6 one, and follows TLS", () => {
  assert.match(startBanner({ host: "0.0.0.0", port: 8080, tls: false, roles: ALL, redis: undefined }), /demo {9}http:\/\/localhost:8080\/\n {2}STOMP {8}ws:\/\/localhost:8080\/ws/);
  assert.match(startBanner({ host: "::1", port: 8443, tls: true, roles: ALL, redis: undefined }), /https:\/\/\[::1\]:8443\/\n.*wss:\/\/\[::1\]:8443\/ws/s);
});

test("the banner lists only what the roles serve and names the Redis (password masked by the caller)", () => {
  const edge = startBanner({ host: "10.0.0.5", port: 8080, tls: false, roles: new Set(["edge"] as const), redis: "redis://:***@redis:6379" });
  assert.match(edge, /^Herald is ready \(roles edge, Redis redis:\/\/:\*\*\*@redis:6379\)/);
  assert.doesNotMatch(edge, /publish API/);
  const api = startBanner({ host: "10.0.0.5", port: 8080, tls: false, roles: new Set(["api", "worker"] as const), redis: "redis://redis:6379" });
  assert.doesNotMatch(api, /demo|STOMP/);
  assert.match(api, /publish API {2}http:\/\/10\.0\.0\.5:8080\/v1\/notifications/);
});

test("log format: text on a terminal, JSON in production or through a pipe, LOG_FORMAT wins", () => {
  assert.equal(logSettingsFromEnv({}, true).format, "text");
  assert.equal(logSettingsFromEnv({}, false).format, "json");
  assert.equal(logSettingsFromEnv({ NODE_ENV: "production" }, true).format, "json");
  assert.equal(logSettingsFromEnv({ NODE_ENV: "development" }, false).format, "pretty");
  assert.equal(logSettingsFromEnv({ LOG_FORMAT: "json" }, true).format, "json");
  assert.throws(() => logSettingsFromEnv({ LOG_FORMAT: "xml" }, true), /LOG_FORMAT/);
  assert.deepEqual([showsBanner({}, true), showsBanner({}, false), showsBanner({ NODE_ENV: "production" }, true)], [true, false, false]);
});
