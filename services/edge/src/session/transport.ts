/**
 * What a STOMP session needs from the connection that carries it. The raw
 * WebSocket and every SockJS transport implement it, so the session code is one.
 */
export type TransportKind = "websocket" | "sockjs";

export interface NativeTopics {
  /** Joins a pre-built fan-out group (uWebSockets.js topics): the socket then receives `app.publish` frames. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
}

export interface SessionTransport {
  readonly kind: TransportKind;
  readonly remoteAddress: string;
  /** Sends one serialized frame; `binary` when the body is not valid UTF-8. */
  send(frame: Uint8Array, binary: boolean): void;
  /** Batches the sends made inside `fn` into one write where the transport can. */
  cork(fn: () => void): void;
  close(code: number, reason: string): void;
  bufferedAmount(): number;
  /** Present when the transport can take part in native shared fan-out. */
  readonly topics?: NativeTopics;
  /** Told once CONNECT is accepted: SockJS turns its own heart-beats off when STOMP's are on. */
  heartbeatNegotiated?(sendEveryMs: number, expectEveryMs: number): void;
}

/** WebSocket close codes Herald uses. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  /** The node is draining: reconnect to another node. */
  tryAgainLater: 1013,
} as const;
