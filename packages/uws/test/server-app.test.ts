import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createLogger } from "@herald/observability";
import { loadUws } from "../src/load-uws.js";
import { ServerApp } from "../src/server/server-app.js";
import { tlsConfigFromEnv } from "../src/server/tls-config.js";

// ServerApp against the real uWebSockets.js: routes replayed on every TLS
// generation, publish reaching sockets of all generations, listener swap.
const uws = loadUws();
const logger = createLogger({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "herald-serverapp-"));
const certs: Record<string, { crt: string; key: string; fp: string }> = {};

before(() => {
  for (const n of ["one", "two"]) {
    const crt = join(dir, `${n}.crt`);
    const key = join(dir, `${n}.key`);
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-days", "1", "-subj", `/CN=${n}`, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", crt], { stdio: "pipe" });
    certs[n] = { crt: readFileSync(crt, "utf8"), key: readFileSync(key, "utf8"), fp: new X509Certificate(readFileSync(crt)).fingerprint256 };
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function mount(server: ServerApp): void {
  server.app.get("/hello", (res) => void res.end("hello"));
  server.app.ws<{ topic: string }>("/ws", {
    open: (ws) => void ws.subscribe("news"),
    message: (ws, msg) => void ws.send(msg, false),
  });
}

/** A port known free before uWebSockets.js listens on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const listen = async (server: ServerApp, fixed = true) => {
  const want = fixed ? await freePort() : 0;
  return new Promise<number>((resolve, reject) => server.app.listen("127.0.0.1", want, (s) => (s ? resolve(uws.us_socket_local_port(s)) : reject(new Error("listen failed")))));
};

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/hello", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

function get(port: number, ca: string[]): Promise<{ body: string; fp: string }> {
  return new Promise((resolve, reject) => {
    https.get({ host: "127.0.0.1", port, path: "/hello", ca, agent: false }, (res) => {
      let body = "";
      const fp = (res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256;
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ body, fp }));
    }).on("error", reject);
  });
}

function wsClient(url: string, ca?: string[]): Promise<{ ws: WebSocket; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ca ? { ca } : {});
    const messages: string[] = [];
    ws.on("message", (d) => messages.push(d.toString()));
    ws.once("open", () => resolve({ ws, messages }));
    ws.once("error", reject);
  });
}

const until = async (cond: () => boolean, what: string) => {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test("plain: routes, publish and close work as on a bare App; reload is refused", async () => {
  const server = new ServerApp(uws, undefined, logger);
  mount(server);
  const port = await listen(server);
  assert.equal(await httpGet(port), "hello");
  const c = await wsClient(`ws://127.0.0.1:${port}/ws`);
  server.app.publish("news", "extra!");
  await until(() => c.messages.length === 1, "published message");
  assert.throws(() => server.reload(), /no TLS/);
  c.ws.terminate();
  server.close();
  await assert.rejects(httpGet(port));
});

/**
 * A TLS server on files `name`.crt/.key holding certificate "one", listening on a
 * fixed port or (fixed = false) one the system chooses; `use("two")` replaces the files.
 */
async function tlsServer(name: string, fixed: boolean) {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const use = (which: "one" | "two", keyOf: "one" | "two" = which) => {
    writeFileSync(crt, certs[which]!.crt);
    writeFileSync(key, certs[keyOf]!.key);
  };
  use("one");
  const server = new ServerApp(uws, tlsConfigFromEnv({ HERALD_TLS_CERT: crt, HERALD_TLS_KEY: key })!, logger);
  mount(server);
  return { server, use, port: await listen(server, fixed), ca: [certs.one!.crt, certs.two!.crt] };
}

test("TLS reload: routes replayed, old sockets kept, publish reaches both generations", async () => {
  const { server, use, port, ca } = await tlsServer("live", true);
  assert.deepEqual(await get(port, ca), { body: "hello", fp: certs.one!.fp });
  const old = await wsClient(`wss://127.0.0.1:${port}/ws`, ca);

  use("two");
  server.reload();
  assert.equal(server.generationCount, 2);
  assert.deepEqual(await get(port, ca), { body: "hello", fp: certs.two!.fp });
  const fresh = await wsClient(`wss://127.0.0.1:${port}/ws`, ca);

  server.app.publish("news", "both");
  await until(() => old.messages.length === 1 && fresh.messages.length === 1, "the message on both generations");
  old.ws.send("echo");
  await until(() => old.messages.length === 2, "echo on the old connection");
  assert.equal(old.messages[1], "echo");

  // A key that does not match: the reload throws and nothing changes.
  use("two", "one");
  assert.throws(() => server.reload(), /HERALD_TLS_KEY.*does not belong/);
  assert.equal(server.generationCount, 2);
  assert.equal((await get(port, ca)).fp, certs.two!.fp);

  // Once its last WebSocket closes, the old generation leaves the publish list.
  old.ws.terminate();
  await until(() => server.generationCount === 1, "the old generation to retire");
  server.app.publish("news", "only fresh");
  await until(() => fresh.messages.length === 2, "publish after retirement");
  fresh.ws.terminate();
  server.close();
});

test("TLS reload on a system-chosen port (PORT=0): the port is kept shareable, so the reload works", async () => {
  const { server, use, port, ca } = await tlsServer("zero", false);
  assert.deepEqual(await get(port, ca), { body: "hello", fp: certs.one!.fp });
  use("two");
  server.reload();
  assert.deepEqual(await get(port, ca), { body: "hello", fp: certs.two!.fp });
  server.close();
});

test("tlsConfigFromEnv: both files or neither, each mistake names its variable", () => {
  assert.equal(tlsConfigFromEnv({}), undefined);
  assert.throws(() => tlsConfigFromEnv({ HERALD_TLS_KEY: "/x" }), /HERALD_TLS_CERT/);
  assert.throws(() => tlsConfigFromEnv({ HERALD_TLS_CERT: "/x" }), /HERALD_TLS_KEY/);
  assert.throws(() => tlsConfigFromEnv({ HERALD_TLS_PASSPHRASE: "p" }), /HERALD_TLS_PASSPHRASE/);
  assert.throws(() => tlsConfigFromEnv({ HERALD_TLS_CERT: join(dir, "missing.crt"), HERALD_TLS_KEY: "/x" }), /HERALD_TLS_CERT.*missing\.crt/);
});
