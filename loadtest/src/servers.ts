/**
 * Starts the servers a scenario measures as child processes on free loopback
 * ports, waits until they answer /readyz, and stops them afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, waitFor, RedisServer } from "@herald/testkit";

export const BASELINE_MAIN = fileURLToPath(new URL("./baseline-server.js", import.meta.url));
export const HERALD_MAIN = fileURLToPath(new URL("../../../services/cli/dist/src/main.js", import.meta.url));

export type TargetName = "baseline" | "herald";

/** What a scenario talks to and measures. */
export interface Target {
  name: TargetName;
  /** ws:// URLs for subscribers; connection i uses urls[i % length]. */
  subscriberUrls: string[];
  /** ws:// URL for the STOMP publisher. */
  publisherUrl: string;
  /** http:// base URL for the publish API. */
  httpUrl: string;
  /** The processes whose RSS and CPU are "the server" (summed). */
  serverPids: number[];
  /** A name per serverPids entry, for the per-process CPU breakdown (when there is more than one). */
  serverLabels?: string[];
  /** A redis-server to measure, when the target has one. */
  redisPid?: number;
  /** Last lines the servers wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const LOOPBACK = "127.0.0.1";

/** Servers we started and have not stopped: killed if the load test itself exits early (Ctrl-C, SIGTERM, crash). */
const live = new Set<number>();
process.on("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
});

/** One node process (baseline or Herald CLI) on a free port. */
export class NodeServer {
  private out = "";
  private readonly exit: Promise<void>;

  private constructor(
    readonly label: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer): void => {
      this.out = (this.out + d.toString()).slice(-8_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exit = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  static async start(label: string, main: string, env: Record<string, string>, unset: string[] = []): Promise<NodeServer> {
    if (!existsSync(main)) throw new Error(`${label}: ${main} does not exist (build it first: npx tsc -b)`);
    const port = await freePort();
    const fullEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", ...env, HOST: LOOPBACK, PORT: String(port) };
    for (const k of unset) delete fullEnv[k];
    const child = spawn(process.execPath, [main], {
      env: fullEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const s = new NodeServer(label, port, child);
    const pid = child.pid;
    if (pid !== undefined) {
      live.add(pid);
      child.once("exit", () => live.delete(pid));
    }
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
          return (await fetch(`${s.httpUrl}/readyz`)).status === 200;
        },
        { timeoutMs: 20_000, intervalMs: 100, what: `${label} /readyz on port ${port}` },
      );
    } catch (err) {
      await s.stop();
      throw new Error(`${label} did not start: ${(err as Error).message}\n--- ${label} output ---\n${s.out}`);
    }
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }
  get wsUrl(): string {
    return `ws://${LOOPBACK}:${this.port}/ws`;
  }
  get httpUrl(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }
  output(): string {
    return this.out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exit;
    clearTimeout(t);
  }
}

function single(name: TargetName, s: NodeServer): Target {
  return {
    name,
    subscriberUrls: [s.wsUrl],
    publisherUrl: s.wsUrl,
    httpUrl: s.httpUrl,
    serverPids: [s.pid],
    output: () => s.output(),
    stop: () => s.stop(),
  };
}

/**
 * `n` independent baseline processes (it has no cluster; idle connections need none):
 * connection i goes to process i mod n. For more connections than one process may
 * hold files for.
 */
export async function startBaselines(n: number, env: Record<string, string> = {}): Promise<Target> {
  const nodes: NodeServer[] = [];
  try {
    for (let i = 0; i < n; i++) nodes.push(await NodeServer.start(`baseline-${i + 1}`, BASELINE_MAIN, env));
  } catch (err) {
    await Promise.all(nodes.map((s) => s.stop()));
    throw err;
  }
  return {
    name: "baseline",
    subscriberUrls: nodes.map((s) => s.wsUrl),
    publisherUrl: nodes[0]!.wsUrl,
    httpUrl: nodes[0]!.httpUrl,
    serverPids: nodes.map((s) => s.pid),
    output: () => nodes.map((s) => `--- ${s.label} ---\n${s.output()}`).join("\n"),
    stop: async () => {
      await Promise.all(nodes.map((s) => s.stop()));
    },
  };
}

export async function startBaseline(env: Record<string, string> = {}): Promise<Target> {
  return single("baseline", await NodeServer.start("baseline", BASELINE_MAIN, env));
}

export function heraldBuilt(): boolean {
  return existsSync(HERALD_MAIN);
}

/**
 * Herald's abuse limits sized for a load test: every connection comes from a few
 * loopback addresses, and one publisher SENDs as fast as it can. Otherwise the
 * run would measure the limiters (per-address connections, SEND rate), not the
 * path. A scenario's or the command line's env still overrides them.
 */
export const LOAD_TEST_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  // SEND straight to /topic/** is refused by Herald's default ACL; the publisher does it.
  HERALD_ACL_FILE: fileURLToPath(new URL("../../acl.yaml", import.meta.url)),
  HERALD_MAX_CONNECTIONS_PER_ADDRESS: "1000000",
  HERALD_SEND_RATE: "10000000",
  HERALD_SEND_BURST: "10000000",
  HERALD_API_RATE: "10000000",
});

/** Herald's embedded default: one process, no REDIS_URL. */
export async function startHerald(env: Record<string, string> = {}): Promise<Target> {
  return single("herald", await NodeServer.start("herald", HERALD_MAIN, { ...LOAD_TEST_LIMITS, ...env }, env["REDIS_URL"] ? [] : ["REDIS_URL"]));
}

/**
 * Herald behind Redis: `edges` edge nodes take the subscribers, one more edge
 * node takes the publisher, and a redis-server of our own relays between them.
 */
export async function startHeraldCluster(edges: number, env: Record<string, string> = {}): Promise<Target> {
  const redis = await RedisServer.start();
  const redisPid = redis.pid;
  if (redisPid !== undefined) live.add(redisPid);
  const nodes: NodeServer[] = [];
  try {
    const nodeEnv = { ...LOAD_TEST_LIMITS, ...env, REDIS_URL: redis.url, HERALD_ROLES: env["HERALD_ROLES"] ?? "edge" };
    for (let i = 0; i <= edges; i++) nodes.push(await NodeServer.start(`herald-${i + 1}`, HERALD_MAIN, nodeEnv));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.dispose();
    if (redisPid !== undefined) live.delete(redisPid);
    throw err;
  }
  const subscriberNodes = nodes.slice(0, edges);
  const publisherNode = nodes[edges]!;
  return {
    name: "herald",
    subscriberUrls: subscriberNodes.map((n) => n.wsUrl),
    publisherUrl: publisherNode.wsUrl,
    httpUrl: publisherNode.httpUrl,
    serverPids: nodes.map((n) => n.pid),
    serverLabels: [...subscriberNodes.map((_, i) => `edge-${i + 1}`), "publisher"],
    redisPid: redis.pid,
    output: () => nodes.map((n) => `--- ${n.label} ---\n${n.output()}`).join("\n"),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis.dispose();
      if (redisPid !== undefined) live.delete(redisPid);
    },
  };
}
