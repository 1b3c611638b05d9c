import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import type { SockJsHandler, SockJsServer } from "./types.js";
import { resolveOptions, type ResolvedSockJsOptions, type SockJsOptions } from "./options.js";
import { Session, type SessionHost } from "./session.js";
import { Exchange, readBody, readRequest, queryParam, type HeaderList, type RequestInfo } from "./http-io.js";
import { NO_CACHE, cacheForYear, corsHeaders, originAllowed, preflightHeaders, sessionCookie } from "./http-headers.js";
import { CALLBACK_PATTERN, eventSource, htmlFile, jsonpPolling, xhrPolling, xhrStreaming, type Framing } from "./framings.js";
import { HttpReceiver } from "./http-receiver.js";
import { SockJsPayloadError, decodeMessages } from "./frames.js";
import { GREETING, IFRAME_PATH, iframePage, infoBody } from "./static-pages.js";
import { mountWebSockets, type WebSocketMount } from "./websocket-transport.js";
import type { RawWebSocketConnection } from "./raw-websocket-connection.js";
import type { WsData } from "./websocket-transport.js";

const TEXT = "text/plain;charset=UTF-8";
// `{server}/{session}/{transport}`: server and session are any non-empty segment without dots.
const SESSION_PATH = /^\/([^/.]+)\/([^/.]+)\/([a-z_]+)$/;

function plain(ex: Exchange, status: string, message: string, extra: HeaderList = []): void {
  ex.respond(status, [["Content-Type", TEXT], ...extra], message + "\n");
}

function methodNotAllowed(ex: Exchange, allow: string): void {
  // No Content-Type, no body: what the protocol's verify405 expects.
  ex.respond("405 Method Not Allowed", [["Allow", allow]], "");
}

/**
 * Mounts a SockJS endpoint under `options.prefix` on a uWS app. Routes:
 * `GET {prefix}` (unless greeting is off) and everything under `{prefix}/`; with
 * websockets on, `app.ws` routes for `{prefix}/{server}/{session}/websocket` and
 * `{prefix}/websocket`. Nothing is registered for upgrades of `{prefix}` itself,
 * which stays free for a plain `app.ws(prefix, …)`.
 */
export function mountSockJs(app: TemplatedApp, options: SockJsOptions, handler: SockJsHandler): SockJsServer {
  const opts = resolveOptions(options);
  const sessions = new Map<string, Session>();
  let stopped = false;

  const httpHost: SessionHost = {
    handler,
    heartbeatMs: opts.heartbeatMs,
    disconnectDelayMs: opts.disconnectDelayMs,
    forget: (s) => {
      if (sessions.get(s.id) === s) sessions.delete(s.id);
    },
    onHandlerError: (err, s) => opts.onHandlerError(err, s),
  };
  const live = new Set<Session | RawWebSocketConnection<WsData>>();
  const ws: WebSocketMount = {
    isStopped: () => stopped,
    live,
    host: {
      handler,
      heartbeatMs: opts.heartbeatMs,
      disconnectDelayMs: null,
      forget: (s) => {
        live.delete(s);
      },
      onHandlerError: (err, s) => opts.onHandlerError(err, s),
    },
  };

  if (opts.greeting) {
    app.get(opts.prefix, (res) => greeting(new Exchange(res)));
  }
  if (opts.websocket) mountWebSockets(app, opts, ws, handler);
  app.any(opts.prefix + "/*", (res, req) => dispatch(res, req));

  function greeting(ex: Exchange): void {
    ex.respond("200 OK", [["Content-Type", TEXT]], GREETING);
  }

  function dispatch(res: HttpResponse, req: HttpRequest): void {
    const info = readRequest(res, req);
    const ex = new Exchange(res);
    const sub = info.path.slice(opts.prefix.length);
    const method = info.method;
    if (sub === "/") {
      if (method === "get") greeting(ex);
      else methodNotAllowed(ex, "GET");
      return;
    }
    if (IFRAME_PATH.test(sub)) {
      if (method !== "get") return methodNotAllowed(ex, "GET");
      return iframe(ex, info);
    }
    if (sub !== "/info" && sub !== "/websocket" && !SESSION_PATH.test(sub)) return plain(ex, "404 Not Found", "Not found.");
    if (stopped) return plain(ex, "503 Service Unavailable", "SockJS server is shutting down.");
    if (!originAllowed(opts, info)) return plain(ex, "403 Forbidden", `Origin not allowed: ${info.headers["origin"] ?? ""}`);

    if (sub === "/info") {
      if (method === "get") {
        return ex.respond("200 OK", [["Content-Type", "application/json;charset=UTF-8"], NO_CACHE, ...corsHeaders(info)], infoBody(opts));
      }
      if (method === "options") return ex.respond("204 No Content", preflightHeaders(info, "OPTIONS, GET"));
      return methodNotAllowed(ex, "OPTIONS, GET");
    }
    if (sub === "/websocket") return notAnUpgrade(ex, info);

    const m = SESSION_PATH.exec(sub)!;
    const sessionId = m[2];
    switch (m[3]) {
      case "websocket":
        return notAnUpgrade(ex, info);
      case "xhr":
        return postTransport(ex, info, () => receive(ex, info, sessionId, xhrPolling));
      case "xhr_streaming":
        return postTransport(ex, info, () => receive(ex, info, sessionId, xhrStreaming));
      case "xhr_send":
        return postTransport(ex, info, () => receiveSend(ex, info, sessionId, "xhr"));
      case "eventsource":
        if (method !== "get") return methodNotAllowed(ex, "GET");
        return receive(ex, info, sessionId, eventSource);
      case "htmlfile": {
        if (method !== "get") return methodNotAllowed(ex, "GET");
        const cb = callback(ex, info);
        if (cb !== null) receive(ex, info, sessionId, htmlFile(cb));
        return;
      }
      case "jsonp": {
        if (method !== "get") return methodNotAllowed(ex, "GET");
        if (jsonpRefused(ex)) return;
        const cb = callback(ex, info);
        if (cb !== null) receive(ex, info, sessionId, jsonpPolling(cb));
        return;
      }
      case "jsonp_send":
        if (method !== "post") return methodNotAllowed(ex, "POST");
        if (jsonpRefused(ex)) return;
        return receiveSend(ex, info, sessionId, "jsonp");
      default:
        return plain(ex, "404 Not Found", `Unknown SockJS transport "${m[3]}".`);
    }
  }

  /** The xhr family answers POST and a CORS preflight. */
  function postTransport(ex: Exchange, info: RequestInfo, run: () => void): void {
    if (info.method === "post") return run();
    if (info.method === "options") return ex.respond("204 No Content", preflightHeaders(info, "OPTIONS, POST"));
    methodNotAllowed(ex, "OPTIONS, POST");
  }

  /** A websocket URL reached as plain HTTP: say precisely what was wrong with the handshake. */
  function notAnUpgrade(ex: Exchange, info: RequestInfo): void {
    if (!opts.websocket) return plain(ex, "404 Not Found", "The websocket transport is disabled.");
    if (info.method !== "get") return methodNotAllowed(ex, "GET");
    if ((info.headers["upgrade"] ?? "").toLowerCase() !== "websocket") return plain(ex, "400 Bad Request", 'Can "Upgrade" only to "WebSocket".');
    const connection = (info.headers["connection"] ?? "").toLowerCase().split(",").map((s) => s.trim());
    if (!connection.includes("upgrade")) return plain(ex, "400 Bad Request", '"Connection" must be "Upgrade".');
    plain(ex, "400 Bad Request", "Bad websocket handshake: Sec-WebSocket-Key missing or malformed.");
  }

  function iframe(ex: Exchange, info: RequestInfo): void {
    // An origin-restricted endpoint cannot vouch for the pages that would frame it (Spring does the same).
    if (opts.allowedOrigins !== "*") return plain(ex, "404 Not Found", "Iframe transports are disabled when allowed origins are restricted.");
    const page = iframePage(opts.sockjsUrl);
    const headers: HeaderList = [...cacheForYear(), ["ETag", page.etag]];
    if (info.headers["if-none-match"] === page.etag) return ex.respond("304 Not Modified", headers);
    ex.respond("200 OK", [["Content-Type", "text/html;charset=UTF-8"], ...headers], page.body);
  }

  function jsonpRefused(ex: Exchange): boolean {
    if (opts.allowedOrigins === "*") return false;
    plain(ex, "403 Forbidden", "JSONP is disabled when allowed origins are restricted (it cannot be origin-checked).");
    return true;
  }

  function callback(ex: Exchange, info: RequestInfo): string | null {
    const cb = queryParam(info.query, "c") ?? queryParam(info.query, "callback");
    if (cb === undefined || cb === "") {
      plain(ex, "500 Internal Server Error", '"callback" parameter required');
      return null;
    }
    if (!CALLBACK_PATTERN.test(cb)) {
      plain(ex, "500 Internal Server Error", 'invalid "callback" parameter: letters, digits, "_" and "." only, at most 64');
      return null;
    }
    return cb;
  }

  /** A receiving request: opens the session if it is new, else becomes its receiver. */
  function receive(ex: Exchange, info: RequestInfo, sessionId: string, framing: Framing): void {
    const headers: Array<readonly [string, string]> = [["Content-Type", framing.contentType], NO_CACHE, ...corsHeaders(info), ...sessionCookie(opts, info)];
    if (framing.transport === "jsonp-polling") headers.push(["X-Content-Type-Options", "nosniff"]);
    const receiver = new HttpReceiver(ex, framing, headers, opts.streamingBytesLimit);
    let session = sessions.get(sessionId);
    if (session === undefined) {
      session = new Session(
        { id: sessionId, transport: framing.transport, remoteAddress: info.remoteAddress, headers: info.headers, query: info.query },
        httpHost,
      );
      sessions.set(sessionId, session);
    }
    receiver.attachTo(session);
  }

  /** xhr_send / jsonp_send: messages from the client into an existing session. */
  function receiveSend(ex: Exchange, info: RequestInfo, sessionId: string, kind: "xhr" | "jsonp"): void {
    const headers: HeaderList = [NO_CACHE, ...corsHeaders(info), ...sessionCookie(opts, info)];
    readBody(
      ex,
      opts.maxRequestBodyBytes,
      (body) => {
        let text = body.toString("utf8");
        if (kind === "jsonp" && (info.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
          text = new URLSearchParams(text).get("d") ?? "";
        }
        let messages: string[];
        try {
          messages = decodeMessages(text, false);
        } catch (err) {
          if (!(err instanceof SockJsPayloadError)) throw err;
          return plain(ex, "500 Internal Server Error", err.message, headers);
        }
        const session = sessions.get(sessionId);
        if (session === undefined) return plain(ex, "404 Not Found", `No SockJS session "${sessionId}".`, headers);
        session.receive(messages);
        if (kind === "xhr") ex.respond("204 No Content", [["Content-Type", "text/plain; charset=UTF-8"], ...headers]);
        else ex.respond("200 OK", [["Content-Type", TEXT], ...headers], "ok");
      },
      () => plain(ex, "413 Payload Too Large", `Payload too large: at most ${opts.maxRequestBodyBytes} bytes.`, headers),
    );
  }

  return {
    close(): void {
      if (stopped) return;
      stopped = true;
      for (const s of [...sessions.values()]) s.dispose(1001, "Server shutting down");
      for (const c of [...live]) {
        if (c instanceof Session) c.dispose(1001, "Server shutting down");
        else c.close(1001, "Server shutting down");
      }
    },
    sessionCount(): number {
      return sessions.size + live.size;
    },
  };
}

export type { ResolvedSockJsOptions };
