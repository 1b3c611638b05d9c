/**
 * Heart-beat negotiation (STOMP 1.1+ "Heart-beating"). Each side states
 * (can-send, wants-to-receive) in ms; 0 means never.
 */
export interface HeartbeatSettings {
  /** ms between frames the server sends when the client wants them. */
  readonly outgoingMs: number;
  /** ms the server wants between frames from the client. */
  readonly incomingMs: number;
}

export interface NegotiatedHeartbeat {
  /** Server sends an EOL after this many ms of output silence; 0 = never. */
  readonly sendEveryMs: number;
  /** Client must send something at least this often; 0 = not checked. */
  readonly expectEveryMs: number;
}

/** Parses a `heart-beat` header value; undefined when malformed. */
export function parseHeartbeatHeader(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return [0, 0];
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2])];
}

export function negotiateHeartbeat(client: [number, number], server: HeartbeatSettings): NegotiatedHeartbeat {
  const [cx, cy] = client;
  return {
    sendEveryMs: server.outgoingMs > 0 && cy > 0 ? Math.max(server.outgoingMs, cy) : 0,
    expectEveryMs: server.incomingMs > 0 && cx > 0 ? Math.max(server.incomingMs, cx) : 0,
  };
}

/** The spec leaves the margin to us: a peer is dead after twice its interval of silence. */
export const SILENCE_TOLERANCE = 2;
