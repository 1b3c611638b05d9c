import { randomUUID } from "node:crypto";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_socket_context_t } from "uWebSockets.js";
import type { ResolvedSockJsOptions } from "./options.js";
import type { FrameSink, SessionHost } from "./session.js";
import { Session } from "./session.js";
import { RawWebSocketConnection, wireCloseCode } from "./raw-websocket-connection.js";
import { SockJsPayloadError, decodeMessages } from "./frames.js";
import { originAllowed } from "./http-headers.js";
import { readRequest } from "./http-io.js";
import type { SockJsHandler } from "./types.js";
import type { SessionInit } from "./session.js";

/** Per-socket state uWS carries from upgrade to close. */
interface WsData {
  readonly init: SessionInit;
  session: Session | null;
  sink: WebSocketSink | null;
  raw: RawWebSocketConnection<WsData> | null;
}

/** The websocket of a framed SockJS session: its one and only sink. */
class WebSocketSink implements FrameSink {
  closed = false;
  constructor(private readonly ws: WebSocket<WsData>) {}

  write(frame: string): boolean {
    if (this.closed) return false;
    let status = 1;
    // Sends from a microtask flush run outside uWS callbacks: cork them.
    this.ws.cork(() => {
      status = this.ws.send(frame, false);
    });
    // 2 = dropped at uWS's backpressure limit: frames would be lost, so drop the client.
    if (status === 2) this.ws.close();
    return true;
  }

  end(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(wireCloseCode(code));
  }

  buffered(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }
}

const textDecoder = new TextDecoder();

export interface WebSocketMount {
  readonly isStopped: () => boolean;
  /** Live framed sessions and raw connections, for counting and shutdown. */
  readonly live: Set<Session | RawWebSocketConnection<WsData>>;
  readonly host: SessionHost;
}

function rejectUpgrade(res: HttpResponse, status: string, message: string): void {
  res.writeStatus(status).writeHeader("Content-Type", "text/plain;charset=UTF-8").end(message + "\n");
}

function upgradeHandler(opts: ResolvedSockJsOptions, m: WebSocketMount, raw: boolean) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    const info = readRequest(res, req);
    if (m.isStopped()) return rejectUpgrade(res, "503 Service Unavailable", "SockJS server is shutting down.");
    if (!originAllowed(opts, info)) return rejectUpgrade(res, "403 Forbidden", `Origin not allowed: ${info.headers["origin"] ?? ""}`);
    let id: string;
    if (raw) {
      id = randomUUID();
    } else {
      // Same rule as the HTTP session URLs: non-empty, no dots.
      const server = req.getParameter(0);
      id = req.getParameter(1);
      if (!server || !id || server.includes(".") || id.includes(".")) return rejectUpgrade(res, "404 Not Found", "Not a SockJS session URL.");
    }
    const offered = (info.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const chosen = offered.length > 0 ? (opts.selectProtocol(offered) ?? "") : "";
    const data: WsData = {
      init: { id, transport: raw ? "raw-websocket" : "websocket", remoteAddress: info.remoteAddress, headers: info.headers, query: info.query },
      session: null,
      sink: null,
      raw: null,
    };
    res.upgrade<WsData>(data, info.headers["sec-websocket-key"] ?? "", chosen, info.headers["sec-websocket-extensions"] ?? "", context);
  };
}

function baseBehavior(opts: ResolvedSockJsOptions): Pick<WebSocketBehavior<WsData>, "maxPayloadLength" | "idleTimeout" | "maxBackpressure" | "sendPingsAutomatically"> {
  return {
    maxPayloadLength: opts.maxWebSocketMessageBytes,
    idleTimeout: opts.webSocketIdleTimeoutSeconds,
    maxBackpressure: opts.maxWebSocketBackpressureBytes,
    sendPingsAutomatically: true,
  };
}

/** `{prefix}/{server}/{session}/websocket`: SockJS frames over one websocket. */
function framedBehavior(opts: ResolvedSockJsOptions, m: WebSocketMount): WebSocketBehavior<WsData> {
  return {
    ...baseBehavior(opts),
    upgrade: upgradeHandler(opts, m, false),
    open: (ws) => {
      const data = ws.getUserData();
      const session = new Session(data.init, m.host);
      const sink = new WebSocketSink(ws);
      data.session = session;
      data.sink = sink;
      m.live.add(session);
      ws.cork(() => session.attach(sink));
    },
    message: (ws, message) => {
      const { session } = ws.getUserData();
      if (session === null) return;
      const text = textDecoder.decode(message);
      if (text === "") return; // the protocol says empty frames are ignored
      let messages: string[];
      try {
        messages = decodeMessages(text, true);
      } catch (err) {
        if (!(err instanceof SockJsPayloadError)) throw err;
        // Broken JSON: the protocol wants the socket dropped abruptly.
        ws.close();
        return;
      }
      ws.cork(() => session.receive(messages));
    },
    close: (_ws, _code, _message) => {
      const data = _ws.getUserData();
      if (data.sink !== null) data.sink.closed = true;
      if (data.session !== null && data.sink !== null) data.session.detach(data.sink, "aborted");
    },
  };
}

/** `{prefix}/websocket`: no SockJS framing at all. */
function rawBehavior(opts: ResolvedSockJsOptions, m: WebSocketMount, handler: SockJsHandler): WebSocketBehavior<WsData> {
  return {
    ...baseBehavior(opts),
    upgrade: upgradeHandler(opts, m, true),
    open: (ws) => {
      const data = ws.getUserData();
      const conn = new RawWebSocketConnection<WsData>(data.init, ws);
      data.raw = conn;
      m.live.add(conn);
      try {
        conn.listener = handler.onOpen(conn);
      } catch (err) {
        opts.onHandlerError(err, conn);
        conn.close(1011, "Internal error");
      }
      // Closed during onOpen: uWS already ran the close handler, before the listener existed.
      if (conn.closed) conn.closedByTransport();
    },
    message: (ws, message) => {
      const { raw } = ws.getUserData();
      if (raw === null || raw.closed || raw.listener === null) return;
      try {
        raw.listener.onMessage(textDecoder.decode(message));
      } catch (err) {
        opts.onHandlerError(err, raw);
        raw.close(1011, "Internal error");
      }
    },
    close: (ws) => {
      const { raw } = ws.getUserData();
      if (raw === null) return;
      m.live.delete(raw);
      try {
        raw.closedByTransport();
      } catch (err) {
        opts.onHandlerError(err, raw);
      }
    },
  };
}

export function mountWebSockets(app: TemplatedApp, opts: ResolvedSockJsOptions, m: WebSocketMount, handler: SockJsHandler): void {
  app.ws<WsData>(opts.prefix + "/:server/:session/websocket", framedBehavior(opts, m));
  app.ws<WsData>(opts.prefix + "/websocket", rawBehavior(opts, m, handler));
}

export type { WsData };
