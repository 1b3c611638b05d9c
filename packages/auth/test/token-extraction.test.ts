import { test } from "node:test";
import assert from "node:assert/strict";
import { extractToken } from "../src/index.js";

const headers = (h: Record<string, string>) => (name: string) => h[name];

test("the passcode header of CONNECT", () => {
  assert.equal(extractToken({ connectHeaders: headers({ login: "x", passcode: "tok-pass" }), query: "" }), "tok-pass");
});

test("an Authorization: Bearer CONNECT header", () => {
  assert.equal(extractToken({ connectHeaders: headers({ Authorization: "Bearer tok-auth" }), query: "" }), "tok-auth");
  assert.equal(extractToken({ connectHeaders: headers({ authorization: "bearer   tok-lower " }), query: "" }), "tok-lower");
  assert.equal(extractToken({ connectHeaders: headers({ Authorization: "Basic dXNlcjpwdw==" }), query: "" }), undefined);
  assert.equal(extractToken({ connectHeaders: headers({ Authorization: "Bearer" }), query: "" }), undefined);
});

test("the access_token query parameter of the upgrade URL", () => {
  assert.equal(extractToken({ connectHeaders: headers({}), query: "access_token=tok-query&x=1" }), "tok-query");
  assert.equal(extractToken({ connectHeaders: headers({}), query: "?a=b&access_token=tok-q2" }), "tok-q2");
  assert.equal(extractToken({ connectHeaders: headers({}), query: "token=nope" }), undefined);
  assert.equal(extractToken({ connectHeaders: headers({}), query: "" }), undefined);
});

test("order: passcode, then Authorization, then query; empty values are skipped", () => {
  const all = { passcode: "p", Authorization: "Bearer a" };
  assert.equal(extractToken({ connectHeaders: headers(all), query: "access_token=q" }), "p");
  assert.equal(extractToken({ connectHeaders: headers({ passcode: "", Authorization: "Bearer a" }), query: "access_token=q" }), "a");
  assert.equal(extractToken({ connectHeaders: headers({ passcode: " " }), query: "access_token=q" }), "q");
});
