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
  constructor(readonly child: ChildProcess, public port: number) {
    child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  /** Spawns Herald; `port: 0` lets the system choose (read back from the "herald listening" line). */
  static spawn(env: Record<string, string>, port: number, nodeArgs: string[] = []): TlsHerald {
    const child = spawn(process.execPath, [...nodeArgs, MAIN], { env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", NODE_ENV: "test", HERALD_ACL_FILE: PERMISSIVE_ACL_FILE, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    return new TlsHerald(child, port);
  }

  static async start(env: Record<string, string>, ca: string[], opts: { port?: number } = {}): Promise<TlsHerald> {
    return TlsHerald.spawn(env, opts.port ?? (await freePort())).ready(ca);
  }

  /** Waits until /readyz answers over TLS trusting `ca` (plain HTTP with `ca` empty). */
  async ready(ca: string[]): Promise<this> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`herald exited with ${this.child.exitCode ?? this.child.signalCode}: ${this.output}`);
      if (this.port === 0) this.port = Number(/"port":(\d+)[^\n]*"msg":"herald listening"/.exec(this.output)?.[1] ?? 0);
      const status = this.port === 0 ? 0 : ca.length === 0 ? await httpStatus(this.port, "/readyz").catch(() => 0) : await httpsStatus(this.port, "/readyz", ca).catch(() => 0);
      if (status === 200) return this;
      if (Date.now() > deadline) {
        this.child.kill("SIGKILL");
        throw new Error(`herald did not answer /readyz on port ${this.port}: ${this.output}`);
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

function httpStatus(port: number, path: string): Promise<number> {
  return fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status);
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

test("SIGHUP reloads the certificate: open connections keep working, new ones get the new certificate (PORT=0 too)", async () => {
  const cert = dir.file("live.crt", a.pem);
  const key = dir.file("live.key", a.keyPem);
  const both = [a.pem, b.pem];
  // A port the system chooses: the reload's second listener must still share it.
  const herald = await TlsHerald.start({ HERALD_TLS_CERT: cert, HERALD_TLS_KEY: key }, both, { port: 0 });
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

/** Resolves once `herald.output` matches `pattern` (or rejects after 5 s). */
async function logged(herald: TlsHerald, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pattern.test(herald.output)) {
    if (Date.now() > deadline) throw new Error(`no log line ${pattern}: ${herald.output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("SIGHUP without TLS is logged and ignored: the process keeps serving (no exit 129)", async () => {
  const herald = await TlsHerald.spawn({}, await freePort()).ready([]);
  try {
    herald.child.kill("SIGHUP");
    await logged(herald, /"signal":"SIGHUP"[^\n]*TLS is off[^\n]*nothing to reload; signal ignored/);
    assert.equal(await httpStatus(herald.port, "/readyz"), 200);
  } finally {
    assert.equal(await herald.stop(), 0);
  }
});

test("SIGHUP while Herald is still starting is remembered, and the certificate re-read once it listens", async () => {
  const preload = fileURLToPath(new URL("./sighup-when-handled.js", import.meta.url));
  const herald = TlsHerald.spawn({ HERALD_TLS_CERT: a.cert, HERALD_TLS_KEY: a.key }, await freePort(), ["--import", preload]);
  try {
    await herald.ready([a.pem]);
    await logged(herald, /TLS certificate reloaded/);
    const order = ["herald listening", "signal received while starting", "TLS certificate reloaded"].map((m) => herald.output.indexOf(`"msg":"${m}`));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `expected listening, then the early signal, then the reload: ${herald.output}`);
    assert.equal(await servedFingerprint(herald.port, [a.pem]), a.fingerprint);
  } finally {
    assert.equal(await herald.stop(), 0);
  }
});

test("a certificate file without its intermediate gets a warning at start; the full chain does not", async () => {
  const caKey = `${dir.dir}/ca.key`;
  const caCrt = `${dir.dir}/ca.crt`;
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-days", "2", "-subj", "/CN=Herald Test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-keyout", caKey, "-out", caCrt);
  run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-subj", "/CN=localhost", "-keyout", `${dir.dir}/leaf.key`, "-out", `${dir.dir}/leaf.csr`);
  writeFileSync(`${dir.dir}/san.ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run("x509", "-req", "-in", `${dir.dir}/leaf.csr`, "-CA", caCrt, "-CAkey", caKey, "-days", "2", "-extfile", `${dir.dir}/san.ext`, "-out", `${dir.dir}/leaf.crt`);
  const caPem = readFileSync(caCrt, "utf8");
  const chain = dir.file("chain.crt", readFileSync(`${dir.dir}/leaf.crt`, "utf8") + caPem);
  const warning = /"level":40[^\n]*holds only the server's certificate, issued by \\"CN=Herald Test CA\\"/;

  const leafOnly = await TlsHerald.start({ HERALD_TLS_CERT: `${dir.dir}/leaf.crt`, HERALD_TLS_KEY: `${dir.dir}/leaf.key` }, [caPem]);
  await leafOnly.stop();
  assert.match(leafOnly.output, warning);
  const full = await TlsHerald.start({ HERALD_TLS_CERT: chain, HERALD_TLS_KEY: `${dir.dir}/leaf.key` }, [caPem]);
  await full.stop();
  assert.doesNotMatch(full.output, /holds only the server's certificate/);
  assert.match(full.output, /"certificates":2/);
});

test("HERALD_TLS_CIPHERS reaches the listener: TLS 1.2 outside the list is refused", async () => {
  const herald = await TlsHerald.start({ HERALD_TLS_CERT: a.cert, HERALD_TLS_KEY: a.key, HERALD_TLS_CIPHERS: "ECDHE-ECDSA-AES256-GCM-SHA384" }, [a.pem]);
  const tls12 = (ciphers: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: herald.port, ca: [a.pem], servername: "localhost", maxVersion: "TLSv1.2", ciphers }, () => {
        resolve(s.getCipher().name);
        s.end();
      });
      s.on("error", reject);
    });
  try {
    await assert.rejects(tls12("ECDHE-ECDSA-AES128-GCM-SHA256"), /handshake failure/);
    assert.equal(await tls12("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"), "ECDHE-ECDSA-AES256-GCM-SHA384");
  } finally {
    await herald.stop();
  }
});
