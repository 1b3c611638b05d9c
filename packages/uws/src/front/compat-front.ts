import { createServer, connect, type Server, type Socket } from "node:net";
import type { Logger } from "@herald/observability";
import { classifyStart, http10AsHttp11 } from "./connection-start.js";
import { Http10Response } from "./http10-response.js";
import { PROXY_V2_SIGNATURE, proxyV2Header } from "./proxy-header.js";

export interface CompatFrontOptions {
  /** uWebSockets.js's plain listener on 127.0.0.1 that connections are relayed to. */
  readonly upstreamPort: number;
  readonly logger: Logger;
  /** How long a new connection may take to send its first request line; as uWebSockets.js's idle timeout. */
  readonly firstRequestTimeoutMs?: number;
  /** Clock for the once-a-minute log lines. */
  readonly now?: () => number;
}

const TLS_LOG_WINDOW_MS = 60_000;

/**
 * The compatibility listener: a Node.js server in front of uWebSockets.js for
 * the clients uWebSockets.js 20.30 leaves hanging (it parses only HTTP/1.1 and
 * offers no hook to see anything else). It reads the first bytes of every
 * connection and:
 * - TLS on this plain port: closes at once, logged once per address and minute;
 * - HTTP/1.0: relays the request as HTTP/1.1 with `Connection: close` and gives
 *   the client the response without chunked encoding, closing the connection at
 *   its end (Http10Response), so every route answers 1.0 clients, streams too;
 * - another HTTP version, or no request line: 505 or 400 at once;
 * - HTTP/1.1 (WebSocket upgrades included): relays the bytes both ways.
 * Each relayed connection starts with a PROXY v2 header carrying the client's
 * address (ServerApp makes routes read it in place of the relay's own), and a
 * client that sends a PROXY header of its own is cut off: uWebSockets.js would
 * take it as the address of its next request.
 *
 * Every byte crosses Node.js twice here, which costs: see HERALD_LISTENER.
 */
export class CompatFront {
  private readonly server: Server;
  private readonly tlsLog: OncePerWindow;
  private readonly timeoutMs: number;

  constructor(private readonly options: CompatFrontOptions) {
    this.timeoutMs = options.firstRequestTimeoutMs ?? 10_000;
    this.tlsLog = new OncePerWindow(TLS_LOG_WINDOW_MS, options.now ?? Date.now);
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on host:port (0: the system chooses); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port }, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** Stops accepting; open connections stay until they close. */
  close(): void {
    this.server.close();
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    client.on("error", () => client.destroy());
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => client.destroy(), this.timeoutMs);
    const onData = (chunk: Buffer) => {
      received = received.length > 0 ? Buffer.concat([received, chunk]) : chunk;
      const start = classifyStart(received);
      if (start.kind === "incomplete") return;
      clearTimeout(timer);
      client.off("data", onData);
      client.pause();
      switch (start.kind) {
        case "tls":
          this.logTls(client);
          client.destroy();
          return;
        case "bad":
          return refuse(client, 400, "Bad Request", `${start.reason}: this port speaks HTTP/1.1 and HTTP/1.0\n`);
        case "unsupported-version":
          return refuse(client, 505, "HTTP Version Not Supported", `HTTP/${start.version} is not supported: use HTTP/1.1 or HTTP/1.0\n`);
        case "http/1.1":
          return this.relay(client, received, undefined);
        case "http/1.0": {
          const host = `${client.localAddress?.includes(":") ? `[${client.localAddress}]` : client.localAddress}:${client.localPort}`;
          const head = Buffer.from(http10AsHttp11(start.head, host), "latin1");
          return this.relay(client, Buffer.concat([head, received.subarray(start.bodyStart)]), start.method);
        }
      }
    };
    client.on("data", onData);
  }

  /** Relays the connection to uWebSockets.js; `http10Method` set: one HTTP/1.0 exchange. */
  private relay(client: Socket, first: Buffer, http10Method: string | undefined): void {
    const guard = new ProxyHeaderGuard();
    if (guard.seen(first)) return refuse(client, 400, "Bad Request", "a PROXY protocol header is not accepted from clients\n");
    const upstream = connect({ host: "127.0.0.1", port: this.options.upstreamPort, noDelay: true });
    let answered = false;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", () => {
      if (!answered) refuse(client, 502, "Bad Gateway", "the server behind this listener is not answering\n");
      else client.destroy();
    });
    upstream.write(proxyV2Header({ address: client.remoteAddress ?? "0.0.0.0", port: client.remotePort ?? 0 }, { address: client.localAddress ?? "0.0.0.0", port: client.localPort ?? 0 }));
    upstream.write(first);

    // Client → uWebSockets.js, with back-pressure, watching for a smuggled PROXY header.
    client.on("data", (chunk: Buffer) => {
      if (guard.seen(chunk)) return closeBoth();
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    // uWebSockets.js closes a connection when it reads FIN, answered or not: an HTTP/1.0
    // client that half-closes after its request still waits for the answer.
    if (http10Method === undefined) client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());

    if (http10Method === undefined) {
      upstream.on("data", (chunk: Buffer) => {
        answered = true;
        if (!client.write(chunk)) upstream.pause();
      });
      client.on("drain", () => upstream.resume());
      upstream.on("end", () => client.end());
    } else {
      const response = new Http10Response(
        http10Method,
        (bytes) => {
          answered = true;
          if (!client.write(bytes)) upstream.pause();
        },
        () => {
          client.end();
          upstream.destroy();
        },
      );
      client.on("drain", () => upstream.resume());
      upstream.on("data", (chunk: Buffer) => {
        try {
          response.push(chunk);
        } catch (err) {
          this.options.logger.warn({ err: (err as Error).message }, "HTTP/1.0 relay: cannot frame the response; connection closed");
          closeBoth();
        }
      });
      upstream.on("end", () => {
        response.upstreamEnded();
        if (!response.done) client.destroy();
      });
    }
    upstream.on("close", () => {
      if (answered && !client.destroyed && !client.writableEnded) client.end();
    });
    client.resume();
  }

  private logTls(client: Socket): void {
    const address = client.remoteAddress ?? "unknown";
    const repeats = this.tlsLog.allow(address);
    if (repeats === undefined) return;
    this.options.logger.warn(
      { remoteAddress: address, ...(repeats > 0 ? { moreInTheLastMinute: repeats } : {}) },
      "TLS handshake on a plain HTTP port: connection closed (the client uses https:// or wss://; this port serves http:// and ws://, or set HERALD_TLS_CERT and HERALD_TLS_KEY)",
    );
  }
}

/** A short plain-text answer, then the connection closes (after the client has had time to read it). */
function refuse(client: Socket, status: number, reason: string, text: string): void {
  client.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
  // Read and drop what the client still sends: closing with unread bytes would reset the connection and lose the answer.
  client.resume();
  setTimeout(() => client.destroy(), 2000).unref();
}

/** Whether a PROXY v2 signature appears in the client's bytes, also across chunk boundaries. */
class ProxyHeaderGuard {
  private tail: Buffer = Buffer.alloc(0);

  seen(chunk: Buffer): boolean {
    const keep = PROXY_V2_SIGNATURE.length - 1;
    if (chunk.indexOf(PROXY_V2_SIGNATURE) >= 0) return true;
    if (this.tail.length > 0 && Buffer.concat([this.tail, chunk.subarray(0, keep)]).indexOf(PROXY_V2_SIGNATURE) >= 0) return true;
    this.tail = Buffer.from(chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([this.tail, chunk]).subarray(-keep));
    return false;
  }
}

/**
 * Lets one event per key through per window. `allow` returns undefined while the
 * window is open, else how many were held back since the last one let through.
 */
export class OncePerWindow {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  allow(key: string): number | undefined {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.windowMs) {
      entry.held++;
      return undefined;
    }
    if (this.last.size >= 10_000) for (const [k, e] of this.last) if (t - e.at >= this.windowMs) this.last.delete(k);
    this.last.set(key, { at: t, held: 0 });
    return entry?.held ?? 0;
  }
}
