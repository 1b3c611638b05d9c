import http from "node:http";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { randomUUID } from "node:crypto";

// No keep-alive: every test request gets its own socket, so nothing lingers after a test.
const agent = new http.Agent({ keepAlive: false });

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One complete HTTP request over node:http (full control of headers, unlike fetch). */
export function request(method: string, url: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: opts.headers ?? {}, agent }, (res) => {
      res.setEncoding("utf8");
      let body = "";
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

export const GET = (url: string, headers?: Record<string, string>) => request("GET", url, headers ? { headers } : {});
export const POST = (url: string, body?: string, headers?: Record<string, string>) =>
  request("POST", url, { ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
export const OPTIONS = (url: string, headers?: Record<string, string>) => request("OPTIONS", url, headers ? { headers } : {});

/**
 * A streaming response read incrementally: `expect(text)` waits for the next bytes
 * and checks they are exactly `text`; `expectEnd()` checks the server ended it.
 */

/** Promises that wait for a condition on incoming data; wake() re-checks them when data arrives. */
class Waiters {
  private pending: Array<() => void> = [];

  wake(): void {
    const w = this.pending;
    this.pending = [];
    for (const f of w) f();
  }

  async until(cond: () => boolean, describe: () => string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.pending.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export class Stream {
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  private buf = "";
  private ended = false;
  private readonly waiters = new Waiters();
  private req: http.ClientRequest;
  readonly ready: Promise<void>;

  constructor(method: string, url: string, headers: Record<string, string> = {}, body?: string) {
    this.req = http.request(url, { method, headers, agent });
    this.ready = new Promise((resolve, reject) => {
      this.req.on("response", (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          this.buf += c;
          this.waiters.wake();
        });
        res.on("end", () => {
          this.ended = true;
          this.waiters.wake();
        });
        res.on("error", () => {
          this.ended = true;
          this.waiters.wake();
        });
        resolve();
      });
      this.req.on("error", (err) => {
        this.ended = true;
        this.waiters.wake();
        reject(err);
      });
    });
    // A stream that is closed before its response arrives must not cause an unhandled rejection.
    this.ready.catch(() => {});
    this.req.end(body);
  }

  static async open(method: string, url: string, headers: Record<string, string> = {}): Promise<Stream> {
    const s = new Stream(method, url, headers);
    await s.ready;
    return s;
  }

  private waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return this.waiters.until(cond, () => `${what}; have ${JSON.stringify(this.buf.slice(0, 200))}, ended=${this.ended}`, timeoutMs);
  }

  /** Waits for exactly `text` as the next bytes and consumes it. */
  async expect(text: string, timeoutMs = 5000): Promise<void> {
    await this.waitUntil(() => this.buf.length >= text.length || this.ended, JSON.stringify(text.slice(0, 60)), timeoutMs);
    assert.equal(this.buf.slice(0, text.length), text);
    this.buf = this.buf.slice(text.length);
  }

  /** Takes the next `n` characters. */
  async take(n: number, timeoutMs = 5000): Promise<string> {
    await this.waitUntil(() => this.buf.length >= n || this.ended, `${n} characters`, timeoutMs);
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  /** The server ends the response with nothing more after what was consumed. */
  async expectEnd(timeoutMs = 5000): Promise<void> {
    await this.waitUntil(() => this.ended, "the end of the response", timeoutMs);
    assert.equal(this.buf, "");
  }

  /** Nothing arrives for `ms`. */
  async expectSilence(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(this.buf, "");
    assert.equal(this.ended, false);
  }

  close(): void {
    this.req.destroy();
  }
}

/** A ws client whose messages can be awaited in order. */
export class WsClient {
  readonly ws: WebSocket;
  private queue: string[] = [];
  private readonly waiters = new Waiters();
  closedWith: { code: number; reason: string } | null = null;
  readonly opened: Promise<void>;

  constructor(url: string, opts: WebSocket.ClientOptions = {}, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols, opts);
    this.ws.on("message", (m) => {
      this.queue.push(String(m));
      this.waiters.wake();
    });
    this.ws.on("close", (code, reason) => {
      this.closedWith = { code, reason: String(reason) };
      this.waiters.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
  }

  static async connect(url: string, opts?: WebSocket.ClientOptions, protocols?: string[]): Promise<WsClient> {
    const c = new WsClient(url, opts, protocols);
    await c.opened;
    return c;
  }

  private waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return this.waiters.until(cond, () => `${what}; queue ${JSON.stringify(this.queue)}`, timeoutMs);
  }

  async recv(timeoutMs = 5000): Promise<string> {
    await this.waitUntil(() => this.queue.length > 0 || this.closedWith !== null, "a message", timeoutMs);
    const m = this.queue.shift();
    if (m === undefined) throw new Error(`socket closed (${JSON.stringify(this.closedWith)}) instead of a message`);
    return m;
  }

  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await this.waitUntil(() => this.closedWith !== null, "close", timeoutMs);
    assert.deepEqual(this.queue, [], "no message before close");
    return this.closedWith!;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.terminate();
  }
}

export function uuid(): string {
  return randomUUID();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function assertCors(r: { headers: http.IncomingHttpHeaders }, origin?: string): void {
  assert.equal(r.headers["access-control-allow-origin"], origin && origin !== "null" ? origin : "*");
  assert.equal(r.headers["access-control-allow-credentials"], "true");
}

export function assertNotCached(r: { headers: http.IncomingHttpHeaders }): void {
  assert.equal(r.headers["cache-control"], "no-store, no-cache, must-revalidate, max-age=0");
  assert.equal(r.headers["expires"], undefined);
  assert.equal(r.headers["last-modified"], undefined);
}

/** Listens a uWS app on a free loopback port; close() drops the listener and every socket. */
export function listen(app: import("uWebSockets.js").TemplatedApp): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    app.listen("127.0.0.1", 0, async (token) => {
      if (token === false) return reject(new Error("uWS could not listen on 127.0.0.1"));
      const { loadUws } = await import("@herald/uws");
      const uws = loadUws();
      resolve({
        port: uws.us_socket_local_port(token as never),
        close() {
          uws.us_listen_socket_close(token);
          (app as unknown as { close?: () => void }).close?.();
        },
      });
    });
  });
}
