import { tempDir as makeTempDir, type TempDir } from "@herald/testkit";
import WebSocket from "ws";
import { SignJWT, type JWTPayload } from "jose";
import type { KeyObject } from "node:crypto";
import { StompParser, header, type Frame, type ServerCommand } from "@herald/stomp";
import { frameText } from "@herald/testkit";

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A JWT signed here, with the key the test gave Herald (or deliberately another). */
export async function signJwt(payload: JWTPayload, key: KeyObject | string | Uint8Array, alg = "HS256"): Promise<string> {
  const k = typeof key === "string" ? new TextEncoder().encode(key) : key;
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(k);
}

/** `alg: none`, crafted by hand: jose refuses to produce it. */
export function unsignedJwt(payload: JWTPayload): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}

export function tempDir(prefix = "herald-sec-"): TempDir {
  return makeTempDir(prefix);
}

/**
 * A raw STOMP client over `ws` that can choose its local loopback address
 * (127.0.0.2, …), so per-address limits can be tested from one machine.
 */
export class Peer {
  readonly frames: Array<Frame<ServerCommand>> = [];
  closeCode: number | undefined;
  /** SHA-256 fingerprint of the server certificate, for wss:// connections. */
  peerFingerprint: string | undefined;
  private taken = 0;
  private readonly parser = StompParser.forClient({ maxFrameBytes: 1 << 20 });
  private listeners: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      for (const f of this.parser.push(new Uint8Array(data))) this.frames.push(f);
      this.notify();
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  static open(url: string, opts: { localAddress?: string; headers?: Record<string, string | string[]>; ca?: string | string[]; servername?: string } = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["v12.stomp"], {
        perMessageDeflate: false,
        headers: opts.headers ?? {},
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      });
      const peer = new Peer(ws);
      ws.once("upgrade", (res) => {
        const socket = res.socket as import("node:tls").TLSSocket;
        if (typeof socket.getPeerCertificate === "function") peer.peerFingerprint = socket.getPeerCertificate().fingerprint256;
      });
      ws.once("open", () => resolve(peer));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  /** Opens, sends CONNECT with `headers` and returns the first frame (CONNECTED or ERROR). */
  static async connect(url: string, headers: Record<string, string> = {}, opts: Parameters<typeof Peer.open>[1] = {}): Promise<{ peer: Peer; reply: Frame<ServerCommand> }> {
    const peer = await Peer.open(url, opts);
    peer.send(frameText("CONNECT", { "accept-version": "1.2", host: "localhost", "heart-beat": "0,0", ...headers }));
    return { peer, reply: await peer.next() };
  }

  /** Like connect, but fails unless CONNECTED. */
  static async connected(url: string, headers: Record<string, string> = {}, opts: Parameters<typeof Peer.open>[1] = {}): Promise<Peer> {
    const { peer, reply } = await Peer.connect(url, headers, opts);
    if (reply.command !== "CONNECTED") throw new Error(`expected CONNECTED, got ${reply.command}: ${header(reply, "message") ?? ""} ${Buffer.from(reply.body).toString()}`);
    return peer;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  async next(timeoutMs = 3000): Promise<Frame<ServerCommand>> {
    await this.until(() => this.frames.length > this.taken || this.closeCode !== undefined, timeoutMs, "a frame");
    if (this.frames.length > this.taken) return this.frames[this.taken++]!;
    throw new Error(`connection closed (${this.closeCode}) before another frame`);
  }

  /** Resolves with no frame after `ms` (fails if one arrives). */
  async quietFor(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.frames.length > this.taken) {
      const f = this.frames[this.taken]!;
      throw new Error(`unexpected ${f.command}: ${header(f, "message") ?? ""} ${Buffer.from(f.body).toString()}`);
    }
  }

  whenClosed(timeoutMs = 3000): Promise<number> {
    return this.until(() => this.closeCode !== undefined, timeoutMs, "close").then(() => this.closeCode!);
  }

  /** SUBSCRIBE with a receipt; resolves with RECEIPT or the ERROR frame. */
  async subscribe(destination: string, id: string, extra: Record<string, string> = {}): Promise<Frame<ServerCommand>> {
    this.send(frameText("SUBSCRIBE", { destination, id, receipt: `sub-${id}`, ...extra }));
    return this.next();
  }

  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.listeners.push(check);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

export const bodyOf = (f: Frame<ServerCommand>): string => Buffer.from(f.body).toString("utf8");

/** Publishes through the HTTP API (loopback, no keys), optionally to one user. */
export async function publish(httpUrl: string, n: { destination: string; body: string; user?: string }): Promise<void> {
  const r = await fetch(`${httpUrl}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(n) });
  if (r.status !== 202) throw new Error(`publish ${JSON.stringify(n)}: ${r.status} ${await r.text()}`);
}

/** The value of one Prometheus sample, 0 when absent. */
export async function metric(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([^{ ]+)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? "").split(",");
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}
