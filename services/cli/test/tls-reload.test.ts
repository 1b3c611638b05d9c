import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Client, type IMessage } from "@stomp/stompjs";
import { PERMISSIVE_ACL_FILE, freePort, frameText } from "@herald/testkit";
import { Peer, bodyOf, tempDir } from "./security-helpers.js";

// wss:// and https:// straight from Herald (uws.SSLApp), with certificates made
// here by openssl, and a certificate reload on SIGHUP that keeps open connections.
const MAIN = fileURLToPath(new URL("../../../cli/dist/src/main.js", import.meta.url));
const dir = tempDir("herald-tls-");

interface Cert {
  cert: string;
  key: string;
  pem: string;
  keyPem: string;
  fingerprint: string;
}

function makeCert(name: string, passphrase?: string): Cert {
  const cert = `${dir.dir}/${name}.crt`;
  const key = `${dir.dir}/${name}.key`;
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "2",
      "-subj", `/CN=localhost/O=herald-test-${name}`, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", key, "-out", cert, ...(passphrase ? ["-passout", `pass:${passphrase}`] : ["-noenc"]),
    ], { stdio: "pipe" });
  } catch (err) {
    throw new Error(`openssl failed (is it installed? Debian: apt-get install openssl): ${(err as Error).message}`);
  }
  const pem = readFileSync(cert, "utf8");
  return { cert, key, pem, keyPem: readFileSync(key, "utf8"), fingerprint: new X509Certificate(pem).fingerprint256 };
}

class TlsHerald {
  output = "";
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess, readonly port: number) {
    child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static async start(env: Record<string, string>, ca: string[]): Promise<TlsHerald> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", NODE_ENV: "test", HERALD_ACL_FILE: PERMISSIVE_ACL_FILE, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const h = new TlsHerald(child, port);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode}: ${h.output}`);
      if ((await httpsStatus(port, "/readyz", ca).catch(() => 0)) === 200) return h;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`herald did not answer https://127.0.0.1:${port}/readyz: ${h.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get wss(): string {
    return `wss://127.0.0.1:${this.port}/ws`;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}

function httpsStatus(port: number, path: string, ca: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path, ca, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

/** The certificate a new TLS connection is served (verified against `ca`). */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on("error", reject);
  });
}

let a: Cert;
let b: Cert;
before(() => {
  a = makeCert("a");
  b = makeCert("b");
  assert.notEqual(a.fingerprint, b.fingerprint);
});
after(() => dir.dispose());

test("wss:// with a self-signed certificate: @stomp/stompjs over ws trusting the CA", async () => {
  const herald = await TlsHerald.start({ HERALD_TLS_CERT: a.cert, HERALD_TLS_KEY: a.key }, [a.pem]);
  try {
    assert.equal(await servedFingerprint(herald.port, [a.pem]), a.fingerprint);
    const clients: Client[] = [];
    const connect = () =>
      new Promise<Client>((resolve, reject) => {
        const c = new Client({ reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0, webSocketFactory: () => new WebSocket(herald.wss, ["v12.stomp"], { ca: a.pem }) });
        c.onConnect = () => resolve(c);
        c.onStompError = (f) => reject(new Error(f.headers["message"]));
        c.onWebSocketError = () => reject(new Error("TLS/WebSocket error"));
        c.activate();
        clients.push(c);
      });
    const [sub, pub] = await Promise.all([connect(), connect()]);
    const got = new Promise<IMessage>((resolve) => sub.subscribe("/topic/tls", resolve, { receipt: "ready" }));
    await new Promise<void>((resolve) => sub.watchForReceipt("ready", () => resolve()));
    pub.publish({ destination: "/topic/tls", body: "over TLS" });
    assert.equal((await got).body, "over TLS");
    // An untrusted client is refused by its own TLS check, as it should be.
    await assert.rejects(Peer.open(herald.wss, { ca: b.pem }));
    for (const c of clients) await c.deactivate();
  } finally {
    await herald.stop();
  }
});

test("SIGHUP reloads the certificate: open connections keep working, new ones get the new certificate", async () => {
  const cert = dir.file("live.crt", a.pem);
  const key = dir.file("live.key", a.keyPem);
  const both = [a.pem, b.pem];
  const herald = await TlsHerald.start({ HERALD_TLS_CERT: cert, HERALD_TLS_KEY: key }, both);
  try {
    const old = await Peer.connected(herald.wss, {}, { ca: both });
    assert.equal(old.peerFingerprint, a.fingerprint);
    assert.equal((await old.subscribe("/topic/reload", "1")).command, "RECEIPT");

    writeFileSync(cert, b.pem);
    writeFileSync(key, b.keyPem);
    herald.child.kill("SIGHUP");
    const deadline = Date.now() + 5000;
    // A handshake that lands on the old listener in the instant it closes is reset
    // (unless net.ipv4.tcp_migrate_req=1): the poll retries it, as a client would.
    while ((await servedFingerprint(herald.port, both).catch(() => "reset")) !== b.fingerprint) {
      assert.ok(Date.now() < deadline, `still serving the old certificate: ${herald.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every new connection now sees B (the old listener is closed, not sharing the port).
    for (let i = 0; i < 5; i++) assert.equal(await servedFingerprint(herald.port, both), b.fingerprint);

    const fresh = await Peer.connected(herald.wss, {}, { ca: both });
    assert.equal(fresh.peerFingerprint, b.fingerprint);
    assert.equal((await fresh.subscribe("/topic/reload", "1")).command, "RECEIPT");
    // A message from the new connection reaches subscribers on both sides of the reload.
    fresh.send(frameText("SEND", { destination: "/topic/reload", receipt: "s" }, "after reload"));
    const frames = [await fresh.next(), await fresh.next()].map((f) => f.command).sort();
    assert.deepEqual(frames, ["MESSAGE", "RECEIPT"]);
    const m = await old.next();
    assert.equal(m.command, "MESSAGE");
    assert.equal(bodyOf(m), "after reload");
    // ...and the old connection can still send.
    old.send(frameText("SEND", { destination: "/topic/reload", receipt: "o" }, "from before"));
    const oldFrames = [await old.next(), await old.next()];
    assert.ok(oldFrames.some((f) => f.command === "RECEIPT"));
    assert.equal(bodyOf((await fresh.next())), "from before");
    assert.equal(old.closeCode, undefined);
    assert.match(herald.output, /TLS certificate reloaded/);

    // A broken file on the next SIGHUP: logged, and the current certificate stays.
    writeFileSync(cert, "not a certificate");
    herald.child.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    assert.match(herald.output, /"err":"HERALD_TLS_CERT[^\n]*TLS certificate reload failed/);
    assert.equal(await servedFingerprint(herald.port, both), b.fingerprint);
    assert.equal(await httpsStatus(herald.port, "/readyz", both), 200);
    old.close();
    fresh.close();
  } finally {
    assert.equal(await herald.stop(), 0);
  }
});

test("an encrypted key works with HERALD_TLS_PASSPHRASE and is a clear configuration error without it", async () => {
  const enc = makeCert("enc", "s3cret-pass");
  const herald = await TlsHerald.start({ HERALD_TLS_CERT: enc.cert, HERALD_TLS_KEY: enc.key, HERALD_TLS_PASSPHRASE: "s3cret-pass" }, [enc.pem]);
  try {
    assert.equal(await servedFingerprint(herald.port, [enc.pem]), enc.fingerprint);
  } finally {
    await herald.stop();
  }
  await assert.rejects(TlsHerald.start({ HERALD_TLS_CERT: enc.cert, HERALD_TLS_KEY: enc.key }, [enc.pem]), /exited with 78[\s\S]*HERALD_TLS_KEY[\s\S]*HERALD_TLS_PASSPHRASE/);
  await assert.rejects(TlsHerald.start({ HERALD_TLS_CERT: a.cert }, [a.pem]), /exited with 78[\s\S]*HERALD_TLS_KEY/);
  await assert.rejects(TlsHerald.start({ HERALD_TLS_CERT: a.cert, HERALD_TLS_KEY: b.key }, [a.pem]), /exited with 78[\s\S]*does not belong to the certificate/);
});
