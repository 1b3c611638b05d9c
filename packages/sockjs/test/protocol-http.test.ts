// The sockjs-protocol 0.3.3 suite's HTTP parts, against the real conformance server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startConformanceServer, type ConformanceServer } from "../src/index.js";
import { GET, OPTIONS, POST, Stream, assertCors, assertNotCached, uuid } from "./helpers.js";

let server: ConformanceServer;
let top = "";
let base = "";
let closeBase = "";
let wsoffBase = "";
let cookieBase = "";

before(async () => {
  server = await startConformanceServer({ port: 0, sockjsUrl: "/static/sockjs.js" });
  top = `http://127.0.0.1:${server.port}`;
  base = top + "/echo";
  closeBase = top + "/close";
  wsoffBase = top + "/disabled_websocket_echo";
  cookieBase = top + "/cookie_needed_echo";
});
after(() => server.close());

async function verifyOptions(url: string, methods: string): Promise<void> {
  for (const origin of [undefined, "test", "null"]) {
    const r = await OPTIONS(url, origin ? { Origin: origin } : {});
    assert.equal(r.status, 204);
    assert.match(String(r.headers["cache-control"]), /public/);
    assert.match(String(r.headers["cache-control"]), /max-age=[1-9][0-9]{6}/);
    assert.ok(r.headers["expires"]);
    assert.ok(Number(r.headers["access-control-max-age"]) > 1_000_000);
    assert.equal(r.headers["access-control-allow-methods"], methods);
    assert.equal(r.body, "");
    assertCors(r, origin);
  }
}

describe("greeting", () => {
  test("base url and trailing slash greet", async () => {
    for (const url of [base, base + "/"]) {
      const r = await GET(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/plain;charset=UTF-8");
      assert.equal(r.body, "Welcome to SockJS!\n");
      assert.equal(r.headers["set-cookie"], undefined);
    }
  });
  test("other simple urls are 404", async () => {
    for (const suffix of ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"]) {
      assert.equal((await GET(base + suffix)).status, 404, suffix);
    }
  });
});

describe("iframe page", () => {
  const bodyRe =
    /^<!DOCTYPE html>\n<html>\n<head>\n {2}<meta http-equiv="X-UA-Compatible" content="IE=edge" \/>\n {2}<meta http-equiv="Content-Type" content="text\/html; charset=UTF-8" \/>\n {2}<script>\n {4}document.domain = document.domain;\n {4}_sockjs_onload = function\(\)\{SockJS.bootstrap_iframe\(\);\};\n {2}<\/script>\n {2}<script src="([^"]*)"><\/script>\n<\/head>\n<body>\n {2}<h2>Don't panic!<\/h2>\n {2}<p>This is a SockJS hidden iframe. It's used for cross domain magic.<\/p>\n<\/body>\n<\/html>$/;

  test("plain, versioned and queried urls serve the cacheable page", async () => {
    for (const suffix of [
      "/iframe.html",
      "/iframe-a.html",
      "/iframe-.html",
      "/iframe-0.1.2.html",
      "/iframe-0.1.2abc-dirty.2144.html",
      "/iframe-a.html?t=1234",
      "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123",
    ]) {
      const r = await GET(base + suffix);
      assert.equal(r.status, 200, suffix);
      assert.equal(r.headers["content-type"], "text/html;charset=UTF-8");
      assert.match(String(r.headers["cache-control"]), /public/);
      assert.match(String(r.headers["cache-control"]), /max-age=[1-9][0-9]{6}/);
      assert.ok(r.headers["expires"]);
      assert.ok(r.headers["etag"]);
      assert.equal(r.headers["last-modified"], undefined);
      assert.equal(r.headers["set-cookie"], undefined);
      const m = bodyRe.exec(r.body.trim());
      assert.ok(m, "iframe body matches the protocol's template");
      assert.equal(m[1], "/static/sockjs.js");
    }
  });
  test("malformed urls are 404", async () => {
    for (const suffix of ["/iframe.htm", "/iframe", "/IFRAME.HTML", "/IFRAME", "/iframe.HTML", "/iframe.xml", "/iframe-/.html"]) {
      assert.equal((await GET(base + suffix)).status, 404, suffix);
    }
  });
  test("stable ETag and 304 on If-None-Match", async () => {
    const r1 = await GET(base + "/iframe.html");
    const r2 = await GET(base + "/iframe.html");
    assert.ok(r1.headers["etag"]);
    assert.equal(r1.headers["etag"], r2.headers["etag"]);
    const r = await GET(base + "/iframe.html", { "If-None-Match": String(r1.headers["etag"]) });
    assert.equal(r.status, 304);
    assert.equal(r.headers["content-type"], undefined);
    assert.equal(r.body, "");
  });
});

describe("info", () => {
  test("capabilities, no cookie, not cached, CORS", async () => {
    const r = await GET(base + "/info");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json;charset=UTF-8");
    assert.equal(r.headers["set-cookie"], undefined);
    assertNotCached(r);
    assertCors(r);
    const data = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(data["websocket"], true);
    assert.equal(data["cookie_needed"], false);
    assert.deepEqual(data["origins"], ["*:*"]);
    assert.ok(Number.isInteger(data["entropy"]));
  });
  test("entropy differs between calls", async () => {
    const a = JSON.parse((await GET(base + "/info")).body) as { entropy: number };
    const b = JSON.parse((await GET(base + "/info")).body) as { entropy: number };
    assert.notEqual(a.entropy, b.entropy);
  });
  test("OPTIONS preflight", () => verifyOptions(base + "/info", "OPTIONS, GET"));
  test("disabled websocket and cookie_needed services say so", async () => {
    assert.equal((JSON.parse((await GET(wsoffBase + "/info")).body) as { websocket: boolean }).websocket, false);
    const r = await GET(cookieBase + "/info");
    assert.equal(r.headers["set-cookie"], undefined);
    assert.equal((JSON.parse(r.body) as { cookie_needed: boolean }).cookie_needed, true);
  });
});

describe("session urls and framing (xhr polling)", () => {
  test("any server and session value opens a session", async () => {
    for (const part of ["/a/a", "/_/_", "/1/1", "/abcdefgh_i-j%20/abcdefg_i-j%20"]) {
      const r = await POST(base + part + "/xhr");
      assert.equal(r.status, 200, part);
      assert.equal(r.body, "o\n");
    }
  });
  test("empty, dotted and mis-shaped session urls are 404", async () => {
    for (const suffix of ["//", "/a./a", "/a/a.", "/./.", "/", "///"]) {
      assert.equal((await GET(base + suffix + "/xhr")).status, 404, suffix);
      assert.equal((await POST(base + suffix + "/xhr")).status, 404, suffix);
    }
  });
  test("the server id is ignored", async () => {
    const id = uuid();
    assert.equal((await POST(`${base}/000/${id}/xhr`)).body, "o\n");
    assert.equal((await POST(`${base}/000/${id}/xhr_send`, '["a"]')).status, 204);
    assert.equal((await POST(`${base}/999/${id}/xhr`)).body, 'a["a"]\n');
  });
  test("simple session: open, send, echo, unknown session 404, second receiver gets 2010", async () => {
    const url = `${base}/000/${uuid()}`;
    let r = await POST(url + "/xhr");
    assert.equal(r.status, 200);
    assert.equal(r.body, "o\n");
    r = await POST(url + "/xhr_send", '["a"]');
    assert.equal(r.status, 204);
    assert.equal(r.body, "");
    r = await POST(url + "/xhr");
    assert.equal(r.body, 'a["a"]\n');
    assert.equal((await POST(base + "/000/bad_session/xhr_send", '["a"]')).status, 404);

    const waiting = new Stream("POST", url + "/xhr");
    await new Promise((res) => setTimeout(res, 100));
    r = await POST(url + "/xhr");
    assert.equal(r.status, 200);
    assert.equal(r.body, 'c[2010,"Another connection still open"]\n');
    waiting.close();
  });
  test("server close: open frame, then the close frame on every request", async () => {
    const url = `${closeBase}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    for (let i = 0; i < 2; i++) {
      const r = await POST(url + "/xhr");
      assert.equal(r.status, 200);
      assert.equal(r.body, 'c[3000,"Go away!"]\n');
    }
  });
});

describe("xhr polling", () => {
  test("OPTIONS on xhr and xhr_send", async () => {
    for (const suffix of ["/xhr", "/xhr_send"]) await verifyOptions(base + "/abc/abc" + suffix, "OPTIONS, POST");
  });
  test("headers of xhr and xhr_send", async () => {
    const url = `${base}/000/${uuid()}`;
    let r = await POST(url + "/xhr");
    assert.equal(r.body, "o\n");
    assert.equal(r.headers["content-type"], "application/javascript;charset=UTF-8");
    assertCors(r);
    assertNotCached(r);
    r = await POST(url + "/xhr_send", '["x"]');
    assert.equal(r.status, 204);
    assert.equal(r.body, "");
    assert.equal(r.headers["content-type"], "text/plain; charset=UTF-8");
    assertCors(r);
    assertNotCached(r);
    assert.equal((await POST(url + "/xhr")).body, 'a["x"]\n');
  });
  test("xhr_send to an unknown session is 404", async () => {
    assert.equal((await POST(`${base}/000/${uuid()}/xhr_send`, '["x"]')).status, 404);
  });
  test("broken and empty JSON are 500 with the protocol's messages", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    let r = await POST(url + "/xhr_send", '["x');
    assert.equal(r.status, 500);
    assert.ok(r.body.includes("Broken JSON encoding."));
    r = await POST(url + "/xhr_send", "");
    assert.equal(r.status, 500);
    assert.ok(r.body.includes("Payload expected."));
    r = await POST(url + "/xhr_send", '{"a":1}');
    assert.equal(r.status, 500);
    assert.ok(r.body.includes("Payload expected."));
    r = await POST(url + "/xhr_send", '["a"]');
    assert.equal(r.status, 204);
    assert.equal((await POST(url + "/xhr")).body, 'a["a"]\n');
  });
  test("any content type is accepted and queued messages come in one frame", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const ctypes = ["text/plain", "T", "application/json", "application/xml", "", "application/json; charset=utf-8", "text/xml; charset=utf-8", "text/xml"];
    for (const ct of ctypes) {
      const r = await POST(url + "/xhr_send", '["a"]', { "Content-Type": ct });
      assert.equal(r.status, 204, ct);
    }
    assert.equal((await POST(url + "/xhr")).body, "a[" + ctypes.map(() => '"a"').join(",") + "]\n");
  });
  test("Access-Control-Request-Headers is echoed", async () => {
    let r = await POST(`${base}/000/${uuid()}/xhr`, undefined, { "Access-Control-Request-Headers": "a, b, c" });
    assertCors(r);
    assert.equal(r.headers["access-control-allow-headers"], "a, b, c");
    r = await POST(`${base}/000/${uuid()}/xhr`, undefined, { "Access-Control-Request-Headers": "" });
    assert.equal(r.headers["access-control-allow-headers"], undefined);
    r = await POST(`${base}/000/${uuid()}/xhr`, undefined, { Origin: "http://app.example" });
    assertCors(r, "http://app.example");
    assert.equal(r.headers["access-control-allow-headers"], undefined);
  });
  test("wrong method is 405 with Allow", async () => {
    const r = await GET(`${base}/000/${uuid()}/xhr`);
    assert.equal(r.status, 405);
    assert.equal(r.headers["allow"], "OPTIONS, POST");
    assert.equal(r.headers["content-type"], undefined);
  });
  test("unknown transport is 404", async () => {
    assert.equal((await POST(`${base}/000/${uuid()}/nope`)).status, 404);
  });
});

describe("xhr streaming", () => {
  test("OPTIONS", () => verifyOptions(base + "/abc/abc/xhr_streaming", "OPTIONS, POST"));
  test("prelude, open frame, messages", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("POST", url + "/xhr_streaming");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/javascript;charset=UTF-8");
    assertCors(r);
    assertNotCached(r);
    await r.expect("h".repeat(2048) + "\n");
    await r.expect("o\n");
    const s = await POST(url + "/xhr_send", '["x"]');
    assert.equal(s.status, 204);
    await r.expect('a["x"]\n');
    r.close();
  });
  test("the response is closed after 4096 bytes", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("POST", url + "/xhr_streaming");
    await r.expect("h".repeat(2048) + "\n");
    await r.expect("o\n");
    const msg = '"' + "x".repeat(128) + '"';
    for (let i = 0; i < 31; i++) {
      assert.equal((await POST(url + "/xhr_send", "[" + msg + "]")).status, 204);
      await r.expect("a[" + msg + "]\n");
    }
    await r.expectEnd();
    // The session survives: the client reconnects and carries on.
    const again = await Stream.open("POST", url + "/xhr_streaming");
    await again.expect("h".repeat(2048) + "\n");
    assert.equal((await POST(url + "/xhr_send", '["y"]')).status, 204);
    await again.expect('a["y"]\n');
    again.close();
  });
});

describe("eventsource", () => {
  test("prelude, data frames, escaping", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("GET", url + "/eventsource");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/event-stream;charset=UTF-8");
    assertNotCached(r);
    await r.expect("\r\n");
    await r.expect("data: o\r\n\r\n");
    assert.equal((await POST(url + "/xhr_send", '["x"]')).status, 204);
    await r.expect('data: a["x"]\r\n\r\n');
    assert.equal((await POST(url + "/xhr_send", String.raw`["  \u0000\n\r "]`)).status, 204);
    await r.expect(String.raw`data: a["  \u0000\n\r "]` + "\r\n\r\n");
    r.close();
  });
  test("response limit", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("GET", url + "/eventsource");
    await r.expect("\r\n");
    await r.expect("data: o\r\n\r\n");
    const msg = '"' + "x".repeat(4096) + '"';
    assert.equal((await POST(url + "/xhr_send", "[" + msg + "]")).status, 204);
    await r.expect("data: a[" + msg + "]\r\n\r\n");
    await r.expectEnd();
  });
});

describe("htmlfile", () => {
  const head = (cb: string) =>
    `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.${cb};
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>`;

  test("prelude page of at least 1 KiB, script frames", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("GET", url + "/htmlfile?c=%63allback");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/html;charset=UTF-8");
    assertNotCached(r);
    const prelude = await r.take(head("callback").length);
    assert.equal(prelude, head("callback"));
    const pad = await r.take(1024 - prelude.length + 4);
    assert.match(pad, /^\s+$/);
    await r.expect('<script>\np("o");\n</script>\r\n');
    assert.equal((await POST(url + "/xhr_send", '["x"]')).status, 204);
    await r.expect('<script>\np("a[\\"x\\"]");\n</script>\r\n');
    r.close();
  });
  test("missing or unsafe callback is 500", async () => {
    let r = await GET(base + "/a/a/htmlfile");
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('"callback" parameter required'));
    r = await GET(base + "/a/a/htmlfile?c=alert(1)");
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('invalid "callback" parameter'));
  });
  test("response limit", async () => {
    const url = `${base}/000/${uuid()}`;
    const r = await Stream.open("GET", url + "/htmlfile?c=callback");
    await r.take(head("callback").length);
    await r.take(1024 - head("callback").length + 4);
    await r.expect('<script>\np("o");\n</script>\r\n');
    const msg = "x".repeat(4096);
    assert.equal((await POST(url + "/xhr_send", '["' + msg + '"]')).status, 204);
    await r.expect('<script>\np("a[\\"' + msg + '\\"]");\n</script>\r\n');
    await r.expectEnd();
  });
});

describe("jsonp polling", () => {
  const form = { "Content-Type": "application/x-www-form-urlencoded" };
  test("transport", async () => {
    const url = `${base}/000/${uuid()}`;
    let r = await GET(url + "/jsonp?c=%63allback");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/javascript;charset=UTF-8");
    assertNotCached(r);
    assert.equal(r.body, 'callback("o");\r\n');
    r = await POST(url + "/jsonp_send", "d=%5B%22x%22%5D", form);
    assert.equal(r.status, 200);
    assert.equal(r.body, "ok");
    assert.equal(r.headers["content-type"], "text/plain;charset=UTF-8");
    assertNotCached(r);
    r = await GET(url + "/jsonp?c=%63allback");
    assert.equal(r.body, 'callback("a[\\"x\\"]");\r\n');
  });
  test("missing or unsafe callback is 500", async () => {
    let r = await GET(base + "/a/a/jsonp");
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('"callback" parameter required'));
    r = await GET(base + "/a/a/jsonp?c=a%3Bb");
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('invalid "callback" parameter'));
  });
  test("broken and missing payloads", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("o");\r\n');
    let r = await POST(url + "/jsonp_send", "d=%5B%22x", form);
    assert.equal(r.status, 500);
    assert.ok(r.body.includes("Broken JSON encoding."));
    for (const data of ["", "d=", "p=p"]) {
      r = await POST(url + "/jsonp_send", data, form);
      assert.equal(r.status, 500, data);
      assert.ok(r.body.includes("Payload expected."));
    }
    r = await POST(url + "/jsonp_send", "d=%5B%22b%22%5D", form);
    assert.equal(r.body, "ok");
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("a[\\"b\\"]");\r\n');
  });
  test("form-encoded and raw bodies", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("o");\r\n');
    assert.equal((await POST(url + "/jsonp_send", "d=%5B%22abc%22%5D", form)).body, "ok");
    assert.equal((await POST(url + "/jsonp_send", '["%61bc"]', { "Content-Type": "text/plain" })).body, "ok");
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("a[\\"abc\\",\\"%61bc\\"]");\r\n');
  });
  test("close", async () => {
    const url = `${closeBase}/000/${uuid()}`;
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("o");\r\n');
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("c[3000,\\"Go away!\\"]");\r\n');
    assert.equal((await GET(url + "/jsonp?c=x")).body, 'x("c[3000,\\"Go away!\\"]");\r\n');
  });
});

describe("JSESSIONID cookie", () => {
  const verifyCookie = (r: { headers: Record<string, unknown> }, value = "dummy") => {
    const c = String(r.headers["set-cookie"]);
    assert.equal(c.split(";")[0].trim(), `JSESSIONID=${value}`);
    assert.equal(c.split(";")[1].trim().toLowerCase(), "path=/");
  };
  test("xhr sets dummy, or echoes the client's", async () => {
    let r = await POST(`${cookieBase}/000/${uuid()}/xhr`);
    assert.equal(r.body, "o\n");
    verifyCookie(r);
    r = await POST(`${cookieBase}/000/${uuid()}/xhr`, undefined, { Cookie: "JSESSIONID=abcdef" });
    assert.equal(r.body, "o\n");
    verifyCookie(r, "abcdef");
  });
  test("streaming transports, jsonp and jsonp_send set it", async () => {
    for (const [method, suffix] of [["POST", "/xhr_streaming"], ["GET", "/eventsource"], ["GET", "/htmlfile?c=%63allback"]] as const) {
      const r = await Stream.open(method, `${cookieBase}/000/${uuid()}${suffix}`);
      assert.equal(r.status, 200);
      verifyCookie(r as unknown as { headers: Record<string, unknown> });
      r.close();
    }
    const url = `${cookieBase}/000/${uuid()}`;
    let r = await GET(url + "/jsonp?c=%63allback");
    verifyCookie(r);
    assert.equal(r.body, 'callback("o");\r\n');
    r = await POST(url + "/jsonp_send", "d=%5B%22x%22%5D", { "Content-Type": "application/x-www-form-urlencoded" });
    assert.equal(r.body, "ok");
    verifyCookie(r);
  });
  test("the plain echo service sets no cookie", async () => {
    assert.equal((await POST(`${base}/000/${uuid()}/xhr`)).headers["set-cookie"], undefined);
  });
});

describe("JSON unicode encoding", () => {
  // The protocol's escapable_by_server (from U+00FF up) and escapable_by_client sets.
  const serverRe = /[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/;
  const clientRe =
    /[\\"\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0604\u070f\u17b4\u17b5\u2000-\u20ff\ufeff\ufff0-\uffff\u0300-\u0333\u033d-\u0346\u034a-\u034c\u0350-\u0352\u0357-\u0358\u035c-\u0362\u0374\u037e\u0387\u0591-\u05af\u05c4\u0610-\u0617\u0653-\u0654\u0657-\u065b\u065d-\u065e\u06df-\u06e2\u06eb-\u06ec\u0730\u0732-\u0733\u0735-\u0736\u073a\u073d\u073f-\u0741\u0743\u0745\u0747\u07eb-\u07f1\u0951\u0958-\u095f\u09dc-\u09dd\u09df\u0a33\u0a36\u0a59-\u0a5b\u0a5e\u0b5c-\u0b5d\u0e38-\u0e39\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f72-\u0f76\u0f78\u0f80-\u0f83\u0f93\u0f9d\u0fa2\u0fa7\u0fac\u0fb9\u1939-\u193a\u1a17\u1b6b\u1cda-\u1cdb\u1dc0-\u1dcf\u1dfc\u1dfe\u1f71\u1f73\u1f75\u1f77\u1f79\u1f7b\u1f7d\u1fbb\u1fbe\u1fc9\u1fcb\u1fd3\u1fdb\u1fe3\u1feb\u1fee-\u1fef\u1ff9\u1ffb\u1ffd\u2000-\u2001\u20d0-\u20d1\u20d4-\u20d7\u20e7-\u20e9\u2126\u212a-\u212b\u2329-\u232a\u2adc\u302b-\u302c\uaab2-\uaab3\uf900-\ufa0d\ufa10\ufa12\ufa15-\ufa1e\ufa20\ufa22\ufa25-\ufa26\ufa2a-\ufa2d\ufa30-\ufa6d\ufa70-\ufad9\ufb1d\ufb1f\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44\ufb46-\ufb4e]/;
  const esc = (i: number) => "\\u" + i.toString(16).padStart(4, "0");

  test("the server escapes what browsers mangle", async () => {
    let escaped = '"';
    for (let i = 255; i < 65536; i++) if (serverRe.test(String.fromCharCode(i))) escaped += esc(i);
    escaped += '"';
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const raw = JSON.parse(escaped) as string;
    assert.equal((await POST(url + "/xhr_send", JSON.stringify([raw]))).status, 204);
    const r = await POST(url + "/xhr");
    assert.equal(r.body.trim().slice(2, -1), escaped);
  });
  test("the server decodes what clients escape", async () => {
    let escaped = '"';
    for (let i = 0; i < 65536; i++) if (clientRe.test(String.fromCharCode(i))) escaped += esc(i);
    escaped += '"';
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    assert.equal((await POST(url + "/xhr_send", "[" + escaped + "]")).status, 204);
    const r = await POST(url + "/xhr");
    assert.equal(JSON.parse(r.body.trim().slice(2, -1)), JSON.parse(escaped));
  });
});

describe("handling close", () => {
  test("a closed session serves its close frame to every new receiver", async () => {
    const url = `${closeBase}/000/${uuid()}`;
    const r1 = await Stream.open("POST", url + "/xhr_streaming");
    await r1.take(2049);
    await r1.expect("o\n");
    await r1.expect('c[3000,"Go away!"]\n');
    await r1.expectEnd();
    const r2 = await Stream.open("POST", url + "/xhr_streaming");
    await r2.take(2049);
    await r2.expect('c[3000,"Go away!"]\n');
    await r2.expectEnd();
  });
  test("a second streaming receiver gets 2010 and is ended; aborting the first interrupts the session", async () => {
    const url = `${base}/000/${uuid()}`;
    const r1 = await Stream.open("POST", url + "/xhr_streaming");
    await r1.take(2049);
    await r1.expect("o\n");
    const r2 = await Stream.open("POST", url + "/xhr_streaming");
    await r2.take(2049);
    await r2.expect('c[2010,"Another connection still open"]\n');
    await r2.expectEnd();
    r1.close();
    await new Promise((res) => setTimeout(res, 100));
    const r3 = await Stream.open("POST", url + "/xhr_streaming");
    await r3.take(2049);
    await r3.expect('c[1002,"Connection interrupted"]\n');
    r3.close();
  });
  test("aborting a waiting poll interrupts the session", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const r1 = new Stream("POST", url + "/xhr");
    await new Promise((res) => setTimeout(res, 100));
    assert.equal((await POST(url + "/xhr")).body, 'c[2010,"Another connection still open"]\n');
    r1.close();
    await new Promise((res) => setTimeout(res, 100));
    assert.equal((await POST(url + "/xhr")).body, 'c[1002,"Connection interrupted"]\n');
  });
});

describe("request limits", () => {
  test("an oversized xhr_send is 413", async () => {
    const url = `${base}/000/${uuid()}`;
    assert.equal((await POST(url + "/xhr")).body, "o\n");
    const r = await POST(url + "/xhr_send", '["' + "x".repeat(300 * 1024) + '"]');
    assert.equal(r.status, 413);
  });
});
