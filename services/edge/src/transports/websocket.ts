import type { HttpRequest, TemplatedApp, WebSocket, Uws } from "@herald/uws";
import type { StompVersion } from "@herald/stomp";
import type { EdgeNode } from "../edge-node.js";
import { originAllowed, type EdgeConfig } from "../edge-config.js";
import { StompSession } from "../session/session.js";
import type { NativeTopics, SessionTransport } from "../session/transport.js";
import type { Admission } from "../session/services.js";

const SUBPROTOCOLS: ReadonlyArray<readonly [string, StompVersion]> = [
  ["v12.stomp", "1.2"],
  ["v11.stomp", "1.1"],
  ["v10.stomp", "1.0"],
];

/**
 * The uWS UserData: one property, the transport. uWS copies UserData's properties
 * onto its own per-socket object, so every extra property costs every connection;
 * `r` is there only on a socket refused by the per-address limit.
 */
interface UpgradeData {
  readonly t: WebSocketTransport;
  readonly r?: Admission;
}

/** Every X-Forwarded-For header in order (getHeader gives only the first; HAProxy adds its own after the client's). */
function forwardedFor(req: HttpRequest): string | undefined {
  let all: string | undefined;
  req.forEach((name, value) => {
    if (name === "x-forwarded-for") all = all === undefined ? value : `${all},${value}`;
  });
  return all;
}

/**
 * A uWebSockets.js socket as a session transport, with native topics for shared
 * fan-out. Created at upgrade (it carries what CONNECT needs to know about the
 * request, and is the session's connect context), given its socket at open.
 * Methods live on the prototype: no per-connection closures or wrapper objects.
 */
class WebSocketTransport implements SessionTransport, NativeTopics {
  ws: WebSocket<UpgradeData> | undefined;
  closed = false;
  session: StompSession | undefined;

  constructor(
    readonly remoteAddress: string,
    readonly query: string,
    readonly offeredVersions: readonly StompVersion[] | undefined,
  ) {}

  get kind(): "websocket" {
    return "websocket";
  }

  get topics(): NativeTopics {
    return this;
  }

  subscribe(topic: string): void {
    if (!this.closed) this.ws!.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.ws!.unsubscribe(topic);
  }

  send(frame: Uint8Array, binary: boolean): void {
    if (!this.closed) this.ws!.send(frame, binary);
  }

  cork(fn: () => void): void {
    if (this.closed) fn();
    else this.ws!.cork(fn);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws!.end(code, reason);
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws!.getBufferedAmount();
  }
}

// Offered-version lists are shared: a handful of distinct lists, not one array per connection.
const offeredLists = new Map<string, readonly StompVersion[] | undefined>();

/**
 * Picks the subprotocol (highest STOMP version offered) and the versions the
 * client offered, which bound version negotiation at CONNECT.
 */
export function negotiateSubprotocol(header: string): { protocol: string; offered: StompVersion[] | undefined } {
  const offered = header.split(",").map((s) => s.trim()).filter(Boolean);
  const versions = SUBPROTOCOLS.filter(([p]) => offered.includes(p));
  if (versions.length === 0) return { protocol: "", offered: undefined };
  return { protocol: versions[0]![0], offered: versions.map(([, v]) => v) };
}

function sharedOffered(offered: StompVersion[] | undefined): readonly StompVersion[] | undefined {
  if (!offered) return undefined;
  const key = offered.join(",");
  if (!offeredLists.has(key)) offeredLists.set(key, Object.freeze(offered));
  return offeredLists.get(key);
}

/**
 * The largest WebSocket message read. uWebSockets.js closes a socket that sends more before
 * anything of the message reaches us (no ERROR possible), so the cap is well above the STOMP frame
 * limit: an oversized frame up to it is read and answered with ERROR "frame too large" by the
 * session's parser, which stops at HERALD_MAX_FRAME_BYTES. What uWS buffers per socket stays
 * bounded by the cap, like the outbound buffer by HERALD_MAX_OUTBOUND_BYTES.
 */
export function webSocketMessageCap(maxFrameBytes: number): number {
  return maxFrameBytes + 1024 * 1024;
}

/** What uWebSockets.js says when it closes a socket for a message over maxPayloadLength. */
const TOO_BIG = "Received too big message";

/** Raw STOMP over WebSocket at `config.path`. */
export function mountStompWebSocket(uws: Uws, app: TemplatedApp, node: EdgeNode, config: EdgeConfig): void {
  const decoder = new TextDecoder();
  const cap = webSocketMessageCap(config.maxFrameBytes);
  app.ws<UpgradeData>(config.path, {
    compression: uws.DISABLED,
    maxPayloadLength: cap,
    // Hard stop in C++; the node's sweep closes consumers over the soft limit with an ERROR first.
    maxBackpressure: config.slowConsumerPolicy === "close" ? config.maxOutboundBytes * 2 : config.maxOutboundBytes,
    closeOnBackpressureLimit: 0,
    idleTimeout: config.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const origin = req.getHeader("origin");
      const key = req.getHeader("sec-websocket-key");
      const protocols = req.getHeader("sec-websocket-protocol");
      const extensions = req.getHeader("sec-websocket-extensions");
      const query = req.getQuery() ?? "";
      const remoteAddress = config.trustedProxies.clientAddress(decoder.decode(res.getRemoteAddressAsText()), () => forwardedFor(req));
      if (!originAllowed(config.allowedOrigins, origin)) {
        node.metrics.upgradesRefused.inc({ reason: "origin" });
        res.writeStatus("403 Forbidden").writeHeader("content-type", "application/json").end(JSON.stringify({ error: `origin ${origin} is not allowed`, field: "origin" }));
        return;
      }
      if (node.isDraining || node.connectionCount >= config.maxConnections) {
        node.metrics.upgradesRefused.inc({ reason: node.isDraining ? "draining" : "node-full" });
        res.writeStatus("503 Service Unavailable").writeHeader("retry-after", "1").writeHeader("content-type", "application/json")
          .end(JSON.stringify({ error: node.isDraining ? "node is draining; connect to another node" : `node is at its limit of ${config.maxConnections} connections` }));
        return;
      }
      const { protocol, offered } = negotiateSubprotocol(protocols);
      const t = new WebSocketTransport(remoteAddress, query, sharedOffered(offered));
      // The address slot is taken here, so sockets that never send CONNECT count; a refused
      // socket still opens, to carry the ERROR frame that says why (close releases only admitted ones).
      const refused = node.transportOpened(remoteAddress);
      res.upgrade<UpgradeData>(refused ? { t, r: refused } : { t }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const { t: transport, r: refused } = ws.getUserData();
      transport.ws = ws;
      node.metrics.connects.inc({ transport: "websocket" });
      // The transport is the connect context too (remoteAddress, query, offeredVersions).
      const session = new StompSession(transport, transport, node);
      if (refused) node.refuse(session, refused);
      else transport.session = session;
    },
    message: (ws, message) => {
      // No copy: the parser copies what it keeps (bodies, partial lines) before onData returns,
      // and uWS may reuse the ArrayBuffer only after this callback. Corked: replies leave in one write.
      const session = ws.getUserData().t.session;
      if (session) ws.cork(() => session.onData(new Uint8Array(message)));
    },
    close: (ws, code, message) => {
      const { t, r: refused } = ws.getUserData();
      t.closed = true;
      if (code === 1006 && t.session && decoder.decode(message) === TOO_BIG) t.session.messageTooLarge(cap);
      t.session?.onClose("client-close");
      if (!refused) node.transportClosed(t.remoteAddress);
    },
  });
}
