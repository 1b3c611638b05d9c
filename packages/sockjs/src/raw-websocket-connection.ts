import type { WebSocket } from "uWebSockets.js";
import type { SockJsConnection, SockJsSessionListener } from "./types.js";
import type { SessionInit } from "./session.js";

/** Close codes an endpoint may put in a websocket close frame (RFC 6455 §7.4). */
export function wireCloseCode(code: number): number {
  return code === 1000 || code === 1001 || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999) ? code : 1000;
}

/**
 * `{prefix}/websocket`: SockJS without framing, for non-browser clients. No open
 * frame, no heart-beats; one websocket message is one message.
 */
export class RawWebSocketConnection<U> implements SockJsConnection {
  readonly transport = "raw-websocket" as const;
  readonly id: string;
  readonly remoteAddress: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: string;
  listener: SockJsSessionListener | null = null;
  private isClosed = false;
  private notified = false;

  constructor(
    init: SessionInit,
    private readonly ws: WebSocket<U>,
  ) {
    this.id = init.id;
    this.remoteAddress = init.remoteAddress;
    this.headers = init.headers;
    this.query = init.query;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(message: string): void {
    if (this.isClosed) return;
    // 2 = dropped by uWS at its backpressure limit: the stream is broken, drop the client.
    if (this.ws.send(String(message), false) === 2) this.ws.close();
  }

  close(code = 1000, reason = "Normal closure"): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.end(wireCloseCode(code), reason);
  }

  bufferedAmount(): number {
    return this.isClosed ? 0 : this.ws.getBufferedAmount();
  }

  setHeartbeatEnabled(): void {
    // The raw endpoint has no SockJS heart-beats; websocket pings are uWS's business.
  }

  /** The websocket is gone (uWS close handler). */
  closedByTransport(): void {
    this.isClosed = true;
    if (this.notified || this.listener === null) return;
    this.notified = true;
    this.listener.onClose();
  }
}
