import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "./ports.js";

/** Lets test clients SEND to /topic/** and /queue/**; set HERALD_ACL_FILE (even to "") to use other rules. */
export const PERMISSIVE_ACL_FILE = fileURLToPath(new URL("../../fixtures/permissive-acl.yaml", import.meta.url));

export interface HeraldOptions {
  /**
   * The compiled CLI entry point to run (services/cli/dist/src/main.js in this repository). The kit
   * starts whatever it is given: a library never knows where a service lives.
   */
  main: string;
  env?: Record<string, string>;
  /** The working directory (default: the test's). */
  cwd?: string;
  port?: number;
  /** Wait for /readyz instead of /healthz. Default true. */
  waitReady?: boolean;
}

/** A real Herald process (the CLI) on a free port, with its output kept for assertions. */
export class HeraldProcess {
  output = "";
  private exitPromise: Promise<number | null>;

  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exitPromise = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static async start(opts: HeraldOptions): Promise<HeraldProcess> {
    const port = opts.port ?? (await freePort());
    const child = spawn(process.execPath, [opts.main], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", NODE_ENV: "test", HERALD_ACL_FILE: PERMISSIVE_ACL_FILE, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const h = new HeraldProcess(port, child);
    const path = opts.waitReady === false ? "/healthz" : "/readyz";
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode}: ${h.output}`);
          const r = await fetch(`${h.httpUrl}${path}`);
          return r.status === 200;
        },
        { timeoutMs: 15_000, what: `herald ${path} on ${port}` },
      );
    } catch (err) {
      child.kill("SIGKILL");
      throw new Error(`${(err as Error).message}\n--- herald output ---\n${h.output}`);
    }
    return h;
  }

  get pid(): number {
    return this.child.pid!;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  exited(): Promise<number | null> {
    return this.exitPromise;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitPromise;
  }

  kill(): Promise<number | null> {
    return this.stop("SIGKILL");
  }
}

/** `HeraldProcess.start` bound to one entry point: what a test folder's own helper exports. */
export function heraldStarter(main: string): (opts?: Omit<HeraldOptions, "main">) => Promise<HeraldProcess> {
  return (opts = {}) => HeraldProcess.start({ ...opts, main });
}
