import type { SockJsConnection } from "./types.js";

/** Configuration of one SockJS endpoint and its validation. */
export interface SockJsOptions {
  /** URL prefix the endpoint is mounted under, e.g. "/ws" or "/echo": starts with "/", no trailing "/". */
  prefix: string;
  /** The SockJS client script the iframe page loads (iframe-based transports). */
  sockjsUrl?: string;
  /** Interval of "h" frames on an idle session, in ms. Default 25 000. */
  heartbeatMs?: number;
  /** How long an HTTP session lives without a receiving request, in ms. Default 5 000. */
  disconnectDelayMs?: number;
  /** Bytes one streaming response carries before it is closed so the client reopens it. Default 128 KiB. */
  streamingBytesLimit?: number;
  /** Offer the websocket transports. Default true. */
  websocket?: boolean;
  /** Tell clients cookies are needed and set JSESSIONID (load-balancer stickiness). Default false. */
  cookieNeeded?: boolean;
  /**
   * Origins allowed to use the endpoint: "*" (default) or a list of exact origins
   * ("https://app.example.com"). A request whose Origin is neither listed nor the
   * same origin as its Host gets 403. With a list, JSONP and the iframe page are off
   * (they cannot be origin-checked), as in Spring.
   */
  allowedOrigins?: "*" | readonly string[];
  /**
   * Register `GET {prefix}` (the greeting). Default true. Turn it off if something else
   * owns plain GETs of the bare prefix; `GET {prefix}/` is served either way.
   * An `app.ws(prefix, …)` of the edge is not disturbed: uWebSockets.js tries ws routes
   * first and they yield non-upgrade requests to the GET route.
   */
  greeting?: boolean;
  /** Largest xhr_send / jsonp_send body in bytes; bigger gets 413. Default 256 KiB. */
  maxRequestBodyBytes?: number;
  /** Largest incoming websocket message in bytes (uWS maxPayloadLength). Default 256 KiB. */
  maxWebSocketMessageBytes?: number;
  /** uWS backpressure limit per websocket in bytes; frames beyond it are dropped by uWS. Default 4 MiB. */
  maxWebSocketBackpressureBytes?: number;
  /** uWS idle timeout of websockets in seconds (0 = off). Default 120. */
  webSocketIdleTimeoutSeconds?: number;
  /**
   * Picks the subprotocol for a websocket upgrade from the client's offer (e.g. "v12.stomp").
   * Default: none is selected.
   */
  selectProtocol?: (offered: readonly string[]) => string | undefined;
  /** Called when the session handler throws; the session is then closed with 1011. Default: console.error. */
  onHandlerError?: (err: unknown, conn: SockJsConnection) => void;
}

export interface ResolvedSockJsOptions {
  readonly prefix: string;
  readonly sockjsUrl: string;
  readonly heartbeatMs: number;
  readonly disconnectDelayMs: number;
  readonly streamingBytesLimit: number;
  readonly websocket: boolean;
  readonly cookieNeeded: boolean;
  readonly allowedOrigins: "*" | readonly string[];
  readonly greeting: boolean;
  readonly maxRequestBodyBytes: number;
  readonly maxWebSocketMessageBytes: number;
  readonly maxWebSocketBackpressureBytes: number;
  readonly webSocketIdleTimeoutSeconds: number;
  readonly selectProtocol: (offered: readonly string[]) => string | undefined;
  readonly onHandlerError: (err: unknown, conn: SockJsConnection) => void;
}

export const DEFAULT_SOCKJS_URL = "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js";

export class SockJsOptionsError extends Error {
  override readonly name = "SockJsOptionsError";
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new SockJsOptionsError(`SockJS option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

// uWS accepts 0 (off) or at least 8 seconds.
function idleTimeout(value: number | undefined): number {
  if (value === undefined) return 120;
  if (!Number.isInteger(value) || (value !== 0 && value < 8)) {
    throw new SockJsOptionsError(`SockJS option webSocketIdleTimeoutSeconds must be 0 (off) or an integer >= 8, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(o: SockJsOptions): ResolvedSockJsOptions {
  if (typeof o.prefix !== "string" || !/^\/[^?#]*$/.test(o.prefix) || o.prefix.endsWith("/") || o.prefix.includes("*") || o.prefix.includes(":")) {
    throw new SockJsOptionsError(
      `SockJS option prefix must start with "/", must not end with "/" and must not contain "?", "#", "*" or ":"; got ${JSON.stringify(o.prefix)}`,
    );
  }
  let allowedOrigins: "*" | readonly string[] = "*";
  if (o.allowedOrigins !== undefined && o.allowedOrigins !== "*") {
    if (!Array.isArray(o.allowedOrigins)) {
      throw new SockJsOptionsError(`SockJS option allowedOrigins must be "*" or an array of origins`);
    }
    for (const origin of o.allowedOrigins) {
      if (typeof origin !== "string" || origin === "") {
        throw new SockJsOptionsError(`SockJS option allowedOrigins has an empty or non-string entry: ${JSON.stringify(origin)}`);
      }
    }
    // A "*" inside the list means the same as "*" (Spring accepts both spellings).
    allowedOrigins = o.allowedOrigins.includes("*") ? "*" : o.allowedOrigins.map((s) => s.toLowerCase());
  }
  const sockjsUrl = o.sockjsUrl ?? DEFAULT_SOCKJS_URL;
  if (!(sockjsUrl.startsWith("/") || /^https?:\/\//.test(sockjsUrl)) || /["<>]/.test(sockjsUrl)) {
    throw new SockJsOptionsError(`SockJS option sockjsUrl must be an absolute path or http(s) URL without quotes or angle brackets, got ${JSON.stringify(sockjsUrl)}`);
  }
  return {
    prefix: o.prefix,
    sockjsUrl,
    heartbeatMs: positiveInt("heartbeatMs", o.heartbeatMs, 25_000),
    disconnectDelayMs: positiveInt("disconnectDelayMs", o.disconnectDelayMs, 5_000),
    streamingBytesLimit: positiveInt("streamingBytesLimit", o.streamingBytesLimit, 128 * 1024),
    websocket: o.websocket ?? true,
    cookieNeeded: o.cookieNeeded ?? false,
    allowedOrigins,
    greeting: o.greeting ?? true,
    maxRequestBodyBytes: positiveInt("maxRequestBodyBytes", o.maxRequestBodyBytes, 256 * 1024),
    maxWebSocketMessageBytes: positiveInt("maxWebSocketMessageBytes", o.maxWebSocketMessageBytes, 256 * 1024),
    maxWebSocketBackpressureBytes: positiveInt("maxWebSocketBackpressureBytes", o.maxWebSocketBackpressureBytes, 4 * 1024 * 1024),
    webSocketIdleTimeoutSeconds: idleTimeout(o.webSocketIdleTimeoutSeconds),
    selectProtocol: o.selectProtocol ?? (() => undefined),
    onHandlerError:
      o.onHandlerError ??
      ((err, conn) => {
        console.error(`SockJS session ${conn.id} (${conn.transport}): handler threw`, err);
      }),
  };
}
