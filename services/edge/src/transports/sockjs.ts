import { readBool, readBytes, readInt, readString, type Env } from "@herald/config";
import { mountSockJs, type SockJsConnection, type SockJsServer, type SockJsSessionListener } from "@herald/sockjs";
import type { TemplatedApp } from "@herald/uws";
import type { EdgeNode } from "../edge-node.js";
import { originAllowed, type EdgeConfig } from "../edge-config.js";
import { StompSession } from "../session/session.js";
import { CloseCode, type SessionTransport } from "../session/transport.js";
import { negotiateSubprotocol } from "./websocket.js";

export interface SockJsConfig {
  /** Serve SockJS at the edge path beside the raw WebSocket. */
  readonly enabled: boolean;
  /** `cookie_needed` in /info and a JSESSIONID cookie, for load balancers that stick on it. */
  readonly cookieNeeded: boolean;
  /** SockJS `h` frames on an idle session (off while STOMP heart-beats flow from the server). */
  readonly heartbeatMs: number;
  /** How long an HTTP-transport session survives without a receiving request. */
  readonly disconnectDelayMs: number;
  /** Bytes per streaming response before the client is made to reopen it. */
  readonly streamingBytesLimit: number;
  /** Client script the iframe page loads (iframe transports only); undefined: the library's default. */
  readonly clientUrl: string | undefined;
}

export function sockjsConfigFromEnv(env: Env): SockJsConfig {
  return {
    enabled: readBool(env, "HERALD_SOCKJS", true),
    cookieNeeded: readBool(env, "HERALD_SOCKJS_COOKIE_NEEDED", false),
    heartbeatMs: readInt(env, "HERALD_SOCKJS_HEARTBEAT_MS", 25_000, { min: 1 }),
    disconnectDelayMs: readInt(env, "HERALD_SOCKJS_DISCONNECT_DELAY_MS", 5_000, { min: 1 }),
    streamingBytesLimit: readBytes(env, "HERALD_SOCKJS_STREAM_BYTES_LIMIT", 128 * 1024),
    clientUrl: readString(env, "HERALD_SOCKJS_CLIENT_URL"),
  };
}

const utf8 = new TextDecoder("utf-8");

/**
 * SockJS messages are strings. A frame whose body is valid UTF-8 goes out as its
 * UTF-8 text. Any other frame goes out latin1-decoded: one character per byte
 * (U+0000–U+00FF), which is exactly what classic stompjs makes of a binary
 * WebSocket frame, so `charCodeAt(i)` gives the bytes back and content-length
 * still counts characters correctly. Nothing is lost or refused.
 */
export function frameToSockJsMessage(frame: Uint8Array, binary: boolean): string {
  if (!binary) return utf8.decode(frame);
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("latin1");
}

/** One SockJS session (any of its transports) as a STOMP session transport. */
class SockJsTransport implements SessionTransport {
  readonly kind = "sockjs" as const;

  constructor(
    private readonly conn: SockJsConnection,
    /** The client address (X-Forwarded-For of the opening request when it came through a trusted proxy). */
    readonly remoteAddress: string,
  ) {}

  send(frame: Uint8Array, binary: boolean): void {
    this.conn.send(frameToSockJsMessage(frame, binary));
  }

  // The library already batches every send of one tick into one SockJS frame.
  cork(fn: () => void): void {
    fn();
  }

  close(code: number, reason: string): void {
    this.conn.close(code, reason);
  }

  bufferedAmount(): number {
    return this.conn.bufferedAmount();
  }

  // STOMP heart-beats from the server keep the receiving stream busy; SockJS's own would be noise.
  heartbeatNegotiated(sendEveryMs: number): void {
    this.conn.setHeartbeatEnabled(sendEveryMs === 0);
  }
}

const IGNORE: SockJsSessionListener = { onMessage() {}, onClose() {} };

/**
 * STOMP over SockJS under `config.path` (e.g. `new SockJS("/ws")`), beside the raw
 * STOMP WebSocket at the same path. Returns the SockJS server (for `close()` and
 * `sessionCount()`), or undefined when SockJS is turned off.
 */
export function mountStompSockJs(app: TemplatedApp, node: EdgeNode, config: EdgeConfig, sockjs: SockJsConfig): SockJsServer | undefined {
  if (!sockjs.enabled) return undefined;
  // xhr_send bodies and SockJS websocket messages are JSON: a STOMP frame may grow up to 6× (\uXXXX).
  const maxMessageBytes = Math.max(256 * 1024, config.maxFrameBytes * 6 + 1024);
  return mountSockJs(
    app,
    {
      prefix: config.path,
      heartbeatMs: sockjs.heartbeatMs,
      disconnectDelayMs: sockjs.disconnectDelayMs,
      streamingBytesLimit: sockjs.streamingBytesLimit,
      cookieNeeded: sockjs.cookieNeeded,
      allowedOrigins: config.allowedOrigins.includes("*") ? "*" : config.allowedOrigins,
      ...(sockjs.clientUrl !== undefined ? { sockjsUrl: sockjs.clientUrl } : {}),
      maxRequestBodyBytes: maxMessageBytes,
      maxWebSocketMessageBytes: maxMessageBytes,
      maxWebSocketBackpressureBytes: config.slowConsumerPolicy === "close" ? config.maxOutboundBytes * 2 : config.maxOutboundBytes,
      webSocketIdleTimeoutSeconds: config.idleTimeoutSeconds,
      selectProtocol: (offered) => negotiateSubprotocol(offered.join(",")).protocol || undefined,
      onHandlerError: (err, conn) => node.logger.error({ err, sockjsSession: conn.id, transport: conn.transport }, "SockJS STOMP handler failed"),
    },
    {
      onOpen(conn) {
        // The library already refused foreign origins with 403; this applies the raw WebSocket's exact rule too.
        const origin = conn.headers["origin"];
        if (!originAllowed(config.allowedOrigins, origin)) {
          node.metrics.upgradesRefused.inc({ reason: "origin" });
          conn.close(CloseCode.policyViolation, `origin ${origin ?? ""} is not allowed`);
          return IGNORE;
        }
        if (node.isDraining || node.connectionCount >= config.maxConnections) {
          node.metrics.upgradesRefused.inc({ reason: node.isDraining ? "draining" : "node-full" });
          conn.close(
            CloseCode.tryAgainLater,
            node.isDraining ? "node is draining; connect to another node" : `node is at its limit of ${config.maxConnections} connections`,
          );
          return IGNORE;
        }
        const websocket = conn.transport === "websocket" || conn.transport === "raw-websocket";
        const offered = websocket ? negotiateSubprotocol(conn.headers["sec-websocket-protocol"] ?? "").offered : undefined;
        const remoteAddress = config.trustedProxies.clientAddress(conn.remoteAddress, () => conn.headers["x-forwarded-for"]);
        // The session holds an address slot from open to close, CONNECT or not.
        const refused = node.transportOpened(remoteAddress);
        const transport = new SockJsTransport(conn, remoteAddress);
        node.metrics.connects.inc({ transport: "sockjs" });
        const session = new StompSession(
          transport,
          { remoteAddress, query: conn.query, ...(offered ? { offeredVersions: offered } : {}) },
          node,
        );
        if (refused) {
          node.refuse(session, refused);
          return IGNORE;
        }
        return {
          onMessage: (message) => session.onData(Buffer.from(message, "utf8")),
          onClose: () => {
            session.onClose("client-close");
            node.transportClosed(remoteAddress);
          },
        };
      },
    },
  );
}
