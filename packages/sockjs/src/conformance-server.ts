import { loadUws } from "@herald/uws";
import type { TemplatedApp, us_listen_socket } from "uWebSockets.js";
import { mountSockJs } from "./mount.js";
import type { SockJsOptions } from "./options.js";
import type { SockJsHandler, SockJsServer } from "./types.js";

/** Sends every message back. */
export const echoHandler: SockJsHandler = {
  onOpen(conn) {
    return { onMessage: (m) => conn.send(m), onClose: () => {} };
  },
};

/** Closes every new session with 3000 "Go away!". */
export const closeHandler: SockJsHandler = {
  onOpen(conn) {
    conn.close(3000, "Go away!");
    return { onMessage: () => {}, onClose: () => {} };
  },
};

export interface ConformanceServerOptions {
  port: number;
  host?: string;
  /** Overrides for every service (tests shorten heart-beats and the disconnect delay). */
  heartbeatMs?: number;
  disconnectDelayMs?: number;
  sockjsUrl?: string;
}

export interface ConformanceServer {
  readonly port: number;
  readonly services: Readonly<Record<string, SockJsServer>>;
  close(): void;
}

/**
 * The services sockjs-protocol's test suite expects, as sockjs-node's test server
 * mounts them: /echo (4096-byte streaming limit), /close, /disabled_websocket_echo,
 * /cookie_needed_echo.
 */
export function startConformanceServer(o: ConformanceServerOptions): Promise<ConformanceServer> {
  const uws = loadUws();
  const app: TemplatedApp = uws.App();
  const common: Partial<SockJsOptions> = {
    streamingBytesLimit: 4096,
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.disconnectDelayMs !== undefined ? { disconnectDelayMs: o.disconnectDelayMs } : {}),
    ...(o.sockjsUrl !== undefined ? { sockjsUrl: o.sockjsUrl } : {}),
  };
  const services = {
    echo: mountSockJs(app, { ...common, prefix: "/echo" }, echoHandler),
    close: mountSockJs(app, { ...common, prefix: "/close" }, closeHandler),
    disabled_websocket_echo: mountSockJs(app, { ...common, prefix: "/disabled_websocket_echo", websocket: false }, echoHandler),
    cookie_needed_echo: mountSockJs(app, { ...common, prefix: "/cookie_needed_echo", cookieNeeded: true }, echoHandler),
  };
  const host = o.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    app.listen(host, o.port, (token: us_listen_socket | false) => {
      if (token === false) {
        reject(new Error(`SockJS conformance server could not listen on ${host}:${o.port}`));
        return;
      }
      resolve({
        port: uws.us_socket_local_port(token as unknown as Parameters<typeof uws.us_socket_local_port>[0]),
        services,
        close() {
          for (const s of Object.values(services)) s.close();
          uws.us_listen_socket_close(token);
          // Not in this uWS version's typings, but present natively: drops every open socket.
          (app as unknown as { close?: () => void }).close?.();
        },
      });
    });
  });
}
