/**
 * The transport-independent surface a session handler (e.g. the STOMP session)
 * sees. Whatever SockJS transport the browser picked, the handler gets the same
 * connection object and the same listener callbacks.
 */
export type SockJsTransportName =
  | "websocket"
  | "raw-websocket"
  | "xhr-streaming"
  | "xhr"
  | "eventsource"
  | "htmlfile"
  | "jsonp-polling";

export interface SockJsConnection {
  /** Session id from the URL (generated for the raw websocket endpoint). */
  readonly id: string;
  /** The transport that opened the session. */
  readonly transport: SockJsTransportName;
  readonly remoteAddress: string;
  /** Request headers of the opening request, names lower-case (origin, cookie, …). */
  readonly headers: Readonly<Record<string, string>>;
  /** Raw query string of the opening request, without "?" (e.g. for access_token). */
  readonly query: string;
  /** Queues one message; it is framed per transport. Never throws; ignored after close. */
  send(message: string): void;
  /** Closes the session; the client receives c[code,"reason"]. Defaults: 1000, "Normal closure". */
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet written to the network (for a slow-consumer policy). */
  bufferedAmount(): number;
  /** SockJS "h" heart-beats; the STOMP layer turns them off when STOMP heart-beats are negotiated. */
  setHeartbeatEnabled(enabled: boolean): void;
  readonly closed: boolean;
}

export interface SockJsSessionListener {
  /** One message from the client, already unframed and JSON-decoded. */
  onMessage(message: string): void;
  /** Called exactly once, whoever closed the session (client, server, timeout, network). */
  onClose(): void;
}

export interface SockJsHandler {
  /** Called once per new session, after the open frame was queued. */
  onOpen(conn: SockJsConnection): SockJsSessionListener;
}

export interface SockJsServer {
  /** Closes every session (close frame 1001 "Server shutting down") and refuses new ones with 503. */
  close(): void;
  /**
   * Sessions this endpoint holds, every transport: open ones (including HTTP sessions
   * between polls) and closed HTTP sessions still serving their close frame until the
   * disconnect delay ends.
   */
  sessionCount(): number;
}
