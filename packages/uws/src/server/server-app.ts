import type { Logger } from "@herald/observability";
import type { HttpResponse, TemplatedApp, Uws, us_listen_socket } from "../load-uws.js";
import { takeProxiedAddress } from "../front/client-address.js";
import { CompatFront } from "../front/compat-front.js";
import type { Listener } from "./listener-config.js";
import { createSslApp } from "./ssl-app.js";
import type { TlsConfig } from "./tls-config.js";

/** Methods that configure routes or server names: recorded, so a reloaded app gets them all. */
const BUILDERS = new Set(["get", "post", "options", "del", "patch", "put", "head", "connect", "trace", "any", "ws", "addServerName", "domain", "removeServerName", "missingServerName"]);
/** Methods whose second argument is an HTTP handler `(res, req)`. */
const ROUTES = new Set(["get", "post", "options", "del", "patch", "put", "head", "connect", "trace", "any"]);

type Method = (...args: unknown[]) => unknown;

interface Generation {
  readonly app: TemplatedApp;
  /** Open WebSockets on this generation: a retired one leaves the publish list at zero. */
  sockets: number;
}

/**
 * The gateway's uWebSockets.js app, plain (`App`) or TLS (`SSLApp`), with
 * certificate reload that keeps every open connection.
 *
 * uWebSockets.js cannot swap the certificate of a listening SSL context, and
 * its SNI contexts need SNI (clients dialling an IP address send none). So a
 * reload builds a new SSLApp generation with the new files, replays every route
 * on it (the same handler closures, so state is shared), listens on the same
 * port (uSockets sets SO_REUSEPORT) and only then closes the previous listen
 * socket. Old connections stay on their generation; `publish` reaches all.
 *
 * With the "compat" listener (plain only), uWebSockets.js listens on a loopback
 * port behind a CompatFront on the public one, and every handler reads the
 * client's address from the front's PROXY header.
 */
export class ServerApp {
  /** Register routes and publish through this, never through a generation. */
  readonly app: TemplatedApp;
  /** Generations that may hold WebSockets: the current one and retired ones with sockets left. */
  private generations: Generation[];
  /** Every app ever made: uWebSockets.js apps are never freed, and their HTTP keep-alive connections still route. */
  private readonly all: TemplatedApp[] = [];
  private readonly recorded: Array<{ method: string; args: unknown[] }> = [];
  private listenSocket: us_listen_socket | undefined;
  private listenAt: { host: string | undefined; port: number } | undefined;
  private front: CompatFront | undefined;
  readonly listener: Listener;

  constructor(
    private readonly uws: Uws,
    readonly tls: TlsConfig | undefined,
    private readonly logger: Logger,
    options: { listener?: Listener } = {},
  ) {
    this.listener = options.listener ?? "direct";
    if (this.listener === "compat" && tls) throw new Error("the compat listener is plain HTTP: it cannot serve TLS");
    const first = tls ? createSslApp(this.uws, tls, this.logger) : uws.App();
    this.all.push(first);
    this.generations = [{ app: first, sockets: 0 }];
    const publishAll = (topic: string, message: Uint8Array | string, isBinary?: boolean, compress?: boolean): boolean => {
      let any = false;
      for (const g of this.generations) any = g.app.publish(topic, message, isBinary, compress) || any;
      return any;
    };
    const numSubscribers = (topic: string): number => this.generations.reduce((n, g) => n + g.app.numSubscribers(topic), 0);
    const listen = (...args: unknown[]) => this.listen(args);
    const proxy: TemplatedApp = new Proxy({} as TemplatedApp, {
      get: (_target, prop) => {
        if (prop === "publish") return publishAll;
        if (prop === "numSubscribers") return numSubscribers;
        if (prop === "listen") return listen;
        const current = this.current as unknown as Record<string | symbol, unknown>;
        const value = current[prop];
        if (typeof prop === "string" && BUILDERS.has(prop)) {
          return (...args: unknown[]) => {
            this.recorded.push({ method: prop, args });
            for (const g of this.generations) this.apply(g, prop, args);
            return proxy;
          };
        }
        return typeof value === "function" ? (value as Method).bind(current) : value;
      },
    });
    this.app = proxy;
  }

  private get current(): TemplatedApp {
    return this.generations[this.generations.length - 1]!.app;
  }

  /** Registers one recorded call on a generation; WebSocket routes count their sockets there. */
  private apply(g: Generation, method: string, args: unknown[]): void {
    let call = args;
    const compat = this.listener === "compat";
    if (compat && ROUTES.has(method) && typeof args[1] === "function") {
      const handler = args[1] as (res: HttpResponse, ...rest: unknown[]) => unknown;
      call = [args[0], (res: HttpResponse, ...rest: unknown[]) => handler(takeProxiedAddress(res), ...rest), ...args.slice(2)];
    }
    if (method === "ws" && typeof args[1] === "object" && args[1] !== null) {
      const behavior = args[1] as { open?: Method; close?: Method; upgrade?: (res: HttpResponse, ...rest: unknown[]) => unknown };
      const upgrade = behavior.upgrade;
      call = [args[0], {
        ...behavior,
        ...(compat && upgrade ? { upgrade: (res: HttpResponse, ...rest: unknown[]) => upgrade(takeProxiedAddress(res), ...rest) } : {}),
        open: (...a: unknown[]) => {
          g.sockets++;
          return behavior.open?.(...a);
        },
        close: (...a: unknown[]) => {
          g.sockets--;
          try {
            return behavior.close?.(...a);
          } finally {
            this.retireIfEmpty(g);
          }
        },
      }, ...args.slice(2)];
    }
    (g.app as unknown as Record<string, Method>)[method]!(...call);
  }

  private retireIfEmpty(g: Generation): void {
    if (g.sockets > 0 || g === this.generations[this.generations.length - 1]) return;
    this.generations = this.generations.filter((x) => x !== g);
  }

  /** Generations publish goes to: the current one plus retired ones that still hold WebSockets. */
  get generationCount(): number {
    return this.generations.length;
  }

  /**
   * Re-reads the certificate and key and serves them to new connections; open
   * connections keep theirs. On a bad file it logs, keeps the current
   * certificate and throws (a ConfigError naming the variable).
   */
  reload(): void {
    if (!this.tls) throw new Error("reload: this server has no TLS (set HERALD_TLS_CERT and HERALD_TLS_KEY)");
    if (!this.listenAt || !this.listenSocket) throw new Error("reload: the server is not listening");
    const next: Generation = { app: createSslApp(this.uws, this.tls, this.logger), sockets: 0 };
    for (const r of this.recorded) this.apply(next, r.method, r.args);
    const { host, port } = this.listenAt;
    let socket: us_listen_socket | false = false;
    const cb = (s: us_listen_socket | false) => void (socket = s);
    if (host === undefined) next.app.listen(port, cb);
    else next.app.listen(host, port, cb);
    if (!socket) throw new Error(`reload: cannot listen again on ${host ?? "*"}:${port}; the previous certificate stays in use`);
    const previous = this.listenSocket;
    this.listenSocket = socket;
    const retired = this.generations[this.generations.length - 1]!;
    this.all.push(next.app);
    this.generations.push(next);
    this.uws.us_listen_socket_close(previous);
    this.retireIfEmpty(retired);
  }

  /**
   * SIGHUP: reloads the certificate when TLS is on (a failed reload is logged and
   * the previous certificate stays); without TLS there is nothing to reload, and
   * it says so. Never throws.
   */
  hangup(signal: string): void {
    if (!this.tls) {
      this.logger.info({ signal }, "TLS is off (HERALD_TLS_CERT and HERALD_TLS_KEY not set): nothing to reload; signal ignored");
      return;
    }
    try {
      this.reload();
      this.logger.info({ signal, generations: this.generations.length }, "TLS certificate reloaded; open connections keep the previous one");
    } catch (err) {
      this.logger.error({ signal, err: (err as Error).message }, "TLS certificate reload failed; still serving the previous certificate");
    }
  }

  /**
   * Listens on host:port (0: the system chooses) and resolves with the port:
   * uWebSockets.js itself ("direct"), or a CompatFront there relaying to
   * uWebSockets.js on a loopback port ("compat").
   */
  async listenOn(host: string, port: number): Promise<number> {
    const listenUws = (h: string, p: number) =>
      new Promise<number>((resolve, reject) => this.app.listen(h, p, (s) => (s ? resolve(this.uws.us_socket_local_port(s)) : reject(new Error(`cannot listen on ${h}:${p}`)))));
    if (this.listener === "direct") return listenUws(host, port);
    const upstreamPort = await listenUws("127.0.0.1", 0);
    this.front = new CompatFront({ upstreamPort, logger: this.logger });
    try {
      return await this.front.listen(host, port);
    } catch (err) {
      this.close();
      throw new Error(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
    }
  }

  /** Stops accepting connections (open ones stay until closed). */
  close(): void {
    this.front?.close();
    this.front = undefined;
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  private listen(args: unknown[]): TemplatedApp {
    const cb = args[args.length - 1] as (s: us_listen_socket | false) => void;
    const host = typeof args[0] === "string" ? args[0] : undefined;
    const requested = (typeof args[0] === "number" ? args[0] : args[1]) as number;
    const current = this.current as unknown as Record<string, Method>;
    const listenOn = (port: number): us_listen_socket | false => {
      let socket: us_listen_socket | false = false;
      current["listen"]!(...(host === undefined ? [port] : [host, port]), (s: us_listen_socket | false) => void (socket = s));
      return socket;
    };
    let socket = listenOn(requested);
    if (socket && requested === 0 && this.tls) socket = this.shareableAgain(socket, listenOn);
    if (socket) {
      this.listenSocket = socket;
      this.listenAt = { host, port: this.uws.us_socket_local_port(socket) };
    }
    cb(socket);
    return this.app;
  }

  /**
   * uSockets sets SO_REUSEPORT only on a listen socket with a fixed port, so a port
   * the system chose (PORT=0) could not take the second listener a reload opens.
   * Keeps the chosen port and listens on it again, this time as a fixed port.
   */
  private shareableAgain(chosen: us_listen_socket, listenOn: (port: number) => us_listen_socket | false): us_listen_socket | false {
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = this.uws.us_socket_local_port(chosen);
      this.uws.us_listen_socket_close(chosen);
      const fixed = listenOn(port);
      if (fixed) return fixed;
      // Another process took the port in between: let the system choose again.
      const again = listenOn(0);
      if (!again) return false;
      chosen = again;
    }
    this.logger.warn("PORT=0: could not keep a port the system chose; a certificate reload will fail (set a fixed PORT)");
    return chosen;
  }
}
