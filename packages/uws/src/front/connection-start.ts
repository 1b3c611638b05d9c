/**
 * What the first bytes of a connection to a plain HTTP port are, for the cases
 * uWebSockets.js 20.30 cannot answer: its parser accepts only "HTTP/1.1" request
 * lines and keeps anything else (HTTP/1.0, a TLS ClientHello, garbage) in a
 * buffer until its 10-second idle timeout, without a byte in reply.
 */
export type ConnectionStart =
  /** Not enough bytes yet to tell. */
  | { readonly kind: "incomplete" }
  /** A TLS record: the client speaks https:// or wss:// to a plain port. */
  | { readonly kind: "tls" }
  /** An HTTP/1.1 request line: uWebSockets.js serves it as it is. */
  | { readonly kind: "http/1.1" }
  /** A complete HTTP/1.0 request head (request line and headers, without the blank line), and where the body starts. */
  | { readonly kind: "http/1.0"; readonly method: string; readonly head: string; readonly bodyStart: number }
  /** A request line of another version (HTTP/2 prior knowledge, HTTP/1.2, …). */
  | { readonly kind: "unsupported-version"; readonly version: string }
  /** Not an HTTP request line at all. */
  | { readonly kind: "bad"; readonly reason: string };

/** Longest request line, and longest HTTP/1.0 head, waited for (uWebSockets.js itself gives up at 4 KiB). */
export const MAX_REQUEST_LINE = 8 * 1024;
export const MAX_HEAD = 16 * 1024;

const TLS_HANDSHAKE_RECORD = 0x16;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d+\.\d+)$/;

export function classifyStart(bytes: Buffer): ConnectionStart {
  if (bytes.length === 0) return { kind: "incomplete" };
  // 0x16 cannot begin an HTTP method (a token), and begins every TLS handshake.
  if (bytes[0] === TLS_HANDSHAKE_RECORD) return { kind: "tls" };
  const lineEnd = bytes.indexOf("\r\n");
  if (lineEnd < 0) return bytes.length >= MAX_REQUEST_LINE ? { kind: "bad", reason: "request line too long" } : { kind: "incomplete" };
  const line = REQUEST_LINE.exec(bytes.toString("latin1", 0, lineEnd));
  if (!line) return { kind: "bad", reason: "not an HTTP request line" };
  const version = line[3]!;
  if (version === "1.1") return { kind: "http/1.1" };
  if (version !== "1.0") return { kind: "unsupported-version", version };
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return bytes.length >= MAX_HEAD ? { kind: "bad", reason: "request head too long" } : { kind: "incomplete" };
  return { kind: "http/1.0", method: line[1]!, head: bytes.toString("latin1", 0, headEnd), bodyStart: headEnd + 4 };
}

/** Headers that describe one hop, not the request: the relay's connection to uWebSockets.js has its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer"]);

/**
 * An HTTP/1.0 request head as an HTTP/1.1 one uWebSockets.js parses: same method,
 * target and headers, plus `Host` (optional in 1.0, required by uWebSockets.js)
 * and `Connection: close` (one request per connection, as 1.0 without
 * keep-alive). The hop-by-hop headers of the client's connection are dropped;
 * so is `Upgrade` (WebSocket needs HTTP/1.1).
 */
export function http10AsHttp11(head: string, host: string): string {
  const [requestLine, ...lines] = head.split("\r\n");
  const named = lines.map((l) => ({ line: l, name: l.slice(0, Math.max(0, l.indexOf(":"))).trim().toLowerCase() }));
  const listed = new Set(named.filter((h) => h.name === "connection").flatMap((h) => h.line.slice(h.line.indexOf(":") + 1).split(",").map((t) => t.trim().toLowerCase())));
  const kept = named.filter((h) => !HOP_BY_HOP.has(h.name) && !listed.has(h.name)).map((h) => h.line);
  if (!named.some((h) => h.name === "host")) kept.push(`host: ${host}`);
  return [requestLine!.replace(/HTTP\/1\.0$/, "HTTP/1.1"), ...kept, "connection: close", "", ""].join("\r\n");
}
