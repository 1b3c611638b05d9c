import type { Logger } from "@herald/observability";
import type { TemplatedApp, Uws, us_listen_socket } from "@herald/uws";
import { readTlsFiles, type TlsConfig } from "./tls-config.js";

/** Methods that configure routes or server names: recorded, so a reloaded app gets them all. */
const BUILDERS = new Set(["get", "post", "options", "del", "patch", "put", "head", "connect", "trace", "any", "ws", "addServerName", "domain", "removeServerName", "missingServerName"]);

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
  private listenAt: { host: string | undefined; port: number; requested: number } | undefined;

  constructor(
    private readonly uws: Uws,
    readonly tls: TlsConfig | undefined,
    private readonly logger: Logger,
  ) {
    const first = tls ? this.sslApp(tls) : uws.App();
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
    if (method === "ws" && typeof args[1] === "object" && args[1] !== null) {
      const behavior = args[1] as { open?: Method; close?: Method };
      call = [args[0], {
        ...behavior,
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
    const next: Generation = { app: this.sslApp(this.tls), sockets: 0 };
    for (const r of this.recorded) this.apply(next, r.method, r.args);
    const { host, port } = this.listenAt;
    let socket: us_listen_socket | false = false;
    const cb = (s: us_listen_socket | false) => void (socket = s);
    if (host === undefined) next.app.listen(port, cb);
    else next.app.listen(host, port, cb);
    if (!socket) {
      const hint = this.listenAt.requested === 0 ? " (the port was chosen by the system, PORT=0, and cannot be shared: set a fixed PORT)" : "";
      throw new Error(`reload: cannot listen again on ${host ?? "*"}:${port}${hint}; the previous certificate stays in use`);
    }
    const previous = this.listenSocket;
    this.listenSocket = socket;
    const retired = this.generations[this.generations.length - 1]!;
    this.all.push(next.app);
    this.generations.push(next);
    this.uws.us_listen_socket_close(previous);
    this.retireIfEmpty(retired);
  }

  /**
   * Reloads the certificate on `signal` (SIGHUP) when TLS is on; a failed reload is
   * logged and the previous certificate stays. Returns the function that stops listening for it.
   */
  reloadOn(signal: NodeJS.Signals): () => void {
    if (!this.tls) return () => undefined;
    const onSignal = () => {
      try {
        this.reload();
        this.logger.info({ signal, generations: this.generations.length }, "TLS certificate reloaded; open connections keep the previous one");
      } catch (err) {
        this.logger.error({ signal, err: (err as Error).message }, "TLS certificate reload failed; still serving the previous certificate");
      }
    };
    process.on(signal, onSignal);
    return () => void process.off(signal, onSignal);
  }

  /** Stops accepting connections (open ones stay until closed). */
  close(): void {
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  private sslApp(tls: TlsConfig): TemplatedApp {
    const cert = readTlsFiles(tls);
    const options: Parameters<Uws["SSLApp"]>[0] = { cert_file_name: tls.certFile, key_file_name: tls.keyFile, ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}) };
    const app = this.uws.SSLApp(options);
    this.logger.info({ certFile: tls.certFile, fingerprint256: cert.fingerprint256, subject: cert.subject, validTo: cert.validTo }, "TLS certificate loaded");
    return app;
  }

  private listen(args: unknown[]): TemplatedApp {
    const cb = args[args.length - 1] as (s: us_listen_socket | false) => void;
    const host = typeof args[0] === "string" ? args[0] : undefined;
    const port = (typeof args[0] === "number" ? args[0] : args[1]) as number;
    const wrapped = (s: us_listen_socket | false) => {
      if (s) {
        this.listenSocket = s;
        this.listenAt = { host, port: this.uws.us_socket_local_port(s), requested: port };
      }
      return cb(s);
    };
    const current = this.current as unknown as Record<string, Method>;
    current["listen"]!(...args.slice(0, -1), wrapped);
    return this.app;
  }
}
