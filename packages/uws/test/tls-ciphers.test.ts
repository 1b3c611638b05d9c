import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { ConfigError } from "@herald/config";
import { createLogger } from "@herald/observability";
import { loadUws } from "../src/load-uws.js";
import { ServerApp } from "../src/server/server-app.js";
import { missingChainWarning, readTlsFiles, tlsConfigFromEnv } from "../src/server/tls-config.js";
import { HANDSHAKE_FAILURE, SUITES, offer } from "./client-hello.js";

// The TLS 1.2 suites a real uWebSockets.js SSLApp agrees to, by default and with
// HERALD_TLS_CIPHERS, probed with hand-written ClientHellos (no client here can
// still offer 3DES) and with Node's TLS client. RSA certificates: with an EC
// key the static-RSA and 3DES suites could never be chosen anyway.
const uws = loadUws();
const logger = createLogger({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "herald-ciphers-"));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
let env: { HERALD_TLS_CERT: string; HERALD_TLS_KEY: string };
let ca: string;

before(() => {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-noenc", "-days", "1", "-subj", "/CN=rsa", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", file("rsa.key"), "-out", file("rsa.crt"));
  env = { HERALD_TLS_CERT: file("rsa.crt"), HERALD_TLS_KEY: file("rsa.key") };
  ca = readFileSync(file("rsa.crt"), "utf8");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function serve(extra: Record<string, string> = {}): Promise<{ port: number; close: () => void }> {
  const server = new ServerApp(uws, tlsConfigFromEnv({ ...env, ...extra }), logger);
  server.app.get("/*", (res) => void res.end("ok"));
  const port = await new Promise<number>((resolve, reject) => server.app.listen("127.0.0.1", 0, (s) => (s ? resolve(uws.us_socket_local_port(s)) : reject(new Error("listen failed")))));
  return { port, close: () => server.close() };
}

function nodeClient(port: number, options: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca, ...options }, () => {
      const result = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.end();
      resolve(result);
    });
    s.on("error", reject);
  });
}

test("default suites: a 3DES-only ClientHello is refused with handshake_failure", async () => {
  const server = await serve();
  try {
    for (const suites of [[SUITES.TLS_RSA_WITH_3DES_EDE_CBC_SHA], [SUITES.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA], [SUITES.TLS_RSA_WITH_3DES_EDE_CBC_SHA, SUITES.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA]]) {
      assert.deepEqual(await offer(server.port, suites), { kind: "alert", level: 2, description: HANDSHAKE_FAILURE }, `offered ${suites.map((s) => s.toString(16))}`);
    }
  } finally {
    server.close();
  }
});

test("default suites: static RSA (no forward secrecy) and CBC suites are refused; ECDHE with AES-GCM or ChaCha20 is served", async () => {
  const server = await serve();
  try {
    const staticRsa = [SUITES.TLS_RSA_WITH_AES_128_CBC_SHA, SUITES.TLS_RSA_WITH_AES_256_CBC_SHA, SUITES.TLS_RSA_WITH_AES_128_GCM_SHA256, SUITES.TLS_RSA_WITH_AES_256_GCM_SHA384];
    assert.deepEqual(await offer(server.port, staticRsa), { kind: "alert", level: 2, description: HANDSHAKE_FAILURE });
    const ecdheCbc = [SUITES.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, SUITES.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA];
    assert.deepEqual(await offer(server.port, ecdheCbc), { kind: "alert", level: 2, description: HANDSHAKE_FAILURE });
    for (const suite of [SUITES.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SUITES.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, SUITES.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]) {
      assert.deepEqual(await offer(server.port, [...staticRsa, suite]), { kind: "server-hello", suite });
    }
    // Among allowed suites the client's order decides (uWebSockets.js sets no server
    // preference; Mozilla's intermediate profile lets the client choose, too).
    const both = [SUITES.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, SUITES.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256];
    assert.deepEqual(await offer(server.port, both), { kind: "server-hello", suite: both[0] });
    // Real clients: TLS 1.3 (its own AEAD suites), TLS 1.2 with an allowed suite; TLS 1.1 refused.
    assert.equal((await nodeClient(server.port, {})).protocol, "TLSv1.3");
    assert.deepEqual(await nodeClient(server.port, { maxVersion: "TLSv1.2" }), { protocol: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256" });
    await assert.rejects(nodeClient(server.port, { maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" }), /handshake failure/);
    await assert.rejects(nodeClient(server.port, { maxVersion: "TLSv1.1", minVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }), /protocol version|no protocols available/i);
  } finally {
    server.close();
  }
});

test("HERALD_TLS_CIPHERS chooses the TLS 1.2 list; a list uWebSockets.js cannot use is a configuration error naming it", async () => {
  const server = await serve({ HERALD_TLS_CIPHERS: "ECDHE-RSA-AES256-GCM-SHA384" });
  try {
    assert.deepEqual(await offer(server.port, [SUITES.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]), { kind: "alert", level: 2, description: HANDSHAKE_FAILURE });
    assert.deepEqual(await offer(server.port, [SUITES.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SUITES.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]), { kind: "server-hello", suite: SUITES.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 });
  } finally {
    server.close();
  }
  const refused = (ciphers: string, message: RegExp) =>
    assert.throws(() => new ServerApp(uws, tlsConfigFromEnv({ ...env, HERALD_TLS_CIPHERS: ciphers }), logger), (err: Error) => err instanceof ConfigError && err.variable === "HERALD_TLS_CIPHERS" && message.test(err.message));
  refused("DHE-RSA-AES128-GCM-SHA256", /knows none of the cipher suites/);
  refused("ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384", /not a cipher list/);
  assert.throws(() => tlsConfigFromEnv({ HERALD_TLS_CIPHERS: "HIGH" }), /HERALD_TLS_CIPHERS: is set but HERALD_TLS_CERT and HERALD_TLS_KEY are not/);
});

test("a certificate file holding one CA-issued certificate and no chain gets a warning; a chain or a self-signed certificate does not", () => {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-days", "1", "-subj", "/CN=Test Intermediate CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-keyout", file("ca.key"), "-out", file("ca.crt"));
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-subj", "/CN=leaf", "-keyout", file("leaf.key"), "-out", file("leaf.csr"));
  openssl("x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-days", "1", "-out", file("leaf.crt"));
  writeFileSync(file("chain.crt"), readFileSync(file("leaf.crt"), "utf8") + readFileSync(file("ca.crt"), "utf8"));
  const summary = (crt: string, key: string) => readTlsFiles({ certFile: file(crt), keyFile: file(key) });
  const leafOnly = summary("leaf.crt", "leaf.key");
  assert.deepEqual([leafOnly.certificates, leafOnly.selfSigned], [1, false]);
  assert.match(missingChainWarning(file("leaf.crt"), leafOnly) ?? "", /holds only the server's certificate, issued by "CN=Test Intermediate CA".*unable to verify the first certificate/);
  assert.equal(missingChainWarning(file("chain.crt"), summary("chain.crt", "leaf.key")), undefined);
  assert.equal(missingChainWarning(file("rsa.crt"), summary("rsa.crt", "rsa.key")), undefined);
  assert.equal(new X509Certificate(readFileSync(file("leaf.crt"))).subject, "CN=leaf");
});
