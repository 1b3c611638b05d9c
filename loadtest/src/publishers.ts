/**
 * The two ways the load generator publishes: STOMP SEND over a WebSocket, and
 * POST /v1/notifications. Both answer "may I send one more now?" so that one
 * pacing loop drives either.
 */
import WebSocket from "ws";
import { Histogram } from "./histogram.js";
import { encodeFrame, FrameSplitter, nowNs, stampBody, stampText } from "./stomp-wire.js";

export interface Publisher {
  /** Whether one more message may go out now without flooding the publisher's own link. */
  ready(): boolean;
  publish(seq: number, destination: string, size: number): void;
  readonly errors: number;
  readonly errorSamples: string[];
  /** Messages the server accepted: SENDs written, or POSTs answered 2xx. */
  readonly accepted: number;
  /** POST round trips (HTTP publisher only). */
  readonly requestUs?: Histogram;
  /** Resolves when nothing is in flight from this publisher any more. */
  settle(timeoutMs: number): Promise<void>;
  close(): void;
}

const PROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"];
/** Above this much unsent data on the publisher's own socket, wait. */
const MAX_BUFFERED = 256 * 1024;

export class StompPublisher implements Publisher {
  errors = 0;
  accepted = 0;
  readonly errorSamples: string[] = [];

  private constructor(private readonly ws: WebSocket) {}

  static connect(url: string, timeoutMs = 10_000): Promise<StompPublisher> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, PROTOCOLS, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: timeoutMs });
      const p = new StompPublisher(ws);
      const splitter = new FrameSplitter();
      let connected = false;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`publisher: no CONNECTED from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on("open", () => ws.send(encodeFrame("CONNECT", { "accept-version": "1.2,1.1,1.0", host: "localhost", "heart-beat": "0,0" })));
      ws.on("message", (data: Buffer) => {
        try {
          splitter.push(data, (f) => {
            if (f.command === "CONNECTED" && !connected) {
              connected = true;
              clearTimeout(timer);
              resolve(p);
            } else if (f.command === "ERROR") {
              p.fail(`publisher got ERROR: ${f.headers.get("message") ?? ""} ${f.body.toString("utf8", 0, 200)}`.trim());
              if (!connected) {
                clearTimeout(timer);
                reject(new Error(p.errorSamples[0]));
              }
            }
          });
        } catch (err) {
          p.fail(`publisher: ${(err as Error).message}`);
        }
      });
      ws.on("error", (err: Error) => {
        p.fail(`publisher socket: ${err.message}`);
        if (!connected) {
          clearTimeout(timer);
          reject(new Error(`publisher cannot connect to ${url}: ${err.message}`));
        }
      });
      ws.on("close", (code: number) => {
        if (connected && !p.closing) p.fail(`publisher socket closed by the server (${code})`);
      });
    });
  }

  private closing = false;

  private fail(what: string): void {
    this.errors++;
    if (this.errorSamples.length < 10) this.errorSamples.push(what);
  }

  ready(): boolean {
    return this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount < MAX_BUFFERED;
  }

  publish(seq: number, destination: string, size: number): void {
    this.ws.send(encodeFrame("SEND", { destination, "content-type": "text/plain" }, stampBody(seq, size)));
    this.accepted++;
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ws.bufferedAmount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
  }
}

export class HttpPublisher implements Publisher {
  errors = 0;
  accepted = 0;
  readonly errorSamples: string[] = [];
  readonly requestUs = new Histogram();
  private inFlight = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly concurrency: number,
    private readonly token: string | undefined,
  ) {}

  ready(): boolean {
    return this.inFlight < this.concurrency;
  }

  publish(seq: number, destination: string, size: number): void {
    this.inFlight++;
    const started = nowNs();
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers["authorization"] = `Bearer ${this.token}`;
    fetch(`${this.baseUrl}/v1/notifications`, { method: "POST", headers, body: JSON.stringify({ destination, body: stampText(seq, size, started) }) })
      .then(async (res) => {
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) {
          this.accepted++;
          this.requestUs.record((nowNs() - started) / 1000);
        } else this.fail(`POST /v1/notifications → ${res.status} ${text.slice(0, 200)}`);
      })
      .catch((err: Error) => this.fail(`POST /v1/notifications: ${err.message}`))
      .finally(() => this.inFlight--);
  }

  private fail(what: string): void {
    this.errors++;
    if (this.errorSamples.length < 10) this.errorSamples.push(what);
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {}
}
