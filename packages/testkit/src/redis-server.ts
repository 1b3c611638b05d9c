import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "node:net";
import { freePort, waitFor } from "./ports.js";

export interface RedisServerOptions {
  port?: number;
  /** Extra redis-server arguments, e.g. ["--appendonly", "yes"]. */
  args?: string[];
  /** Keep the data dir between restart() calls (for persistence tests). */
  dir?: string;
}

/** A redis-server this test owns, on its own port and data directory. */
export class RedisServer {
  private child?: ChildProcess;
  readonly dir: string;
  private constructor(
    readonly port: number,
    private readonly args: string[],
    dir: string | undefined,
  ) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), "herald-redis-"));
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(opts.port ?? (await freePort()), opts.args ?? [], opts.dir);
    await server.spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async spawn(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, ...this.args];
    this.child = spawn("redis-server", args, { stdio: "ignore" });
    await waitFor(() => ping(this.port), { timeoutMs: 10_000, what: `redis-server on ${this.port}` });
  }

  /** SIGKILL: the server vanishes as in a crash. */
  kill(): Promise<void> {
    return this.stopWith("SIGKILL");
  }

  stop(): Promise<void> {
    return this.stopWith("SIGTERM");
  }

  async restart(): Promise<void> {
    await this.spawn();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private stopWith(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }
}

/** Answers true when a Redis on `port` replies +PONG. */
export function ping(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}
