import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { freePort, waitFor } from "./ports.js";
import { RedisServer } from "./redis-server.js";

const run = promisify(execFile);

/**
 * A real Redis Cluster on loopback: three masters, no replicas, each node with its
 * own data dir and cluster bus port, created with `redis-cli --cluster create`.
 */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  static async start(size = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < size; i++) {
        // The default cluster bus port (port + 10000) may be taken or past 65535 for an ephemeral port.
        const busPort = await freePort();
        nodes.push(await RedisServer.start({ args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(busPort)] }));
      }
      await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 20_000 });
      for (const n of nodes) {
        await waitFor(
          async () => /cluster_state:ok/.test((await run("redis-cli", ["-p", String(n.port), "cluster", "info"], { timeout: 2000 })).stdout),
          { timeoutMs: 15_000, what: `cluster_state:ok on ${n.port}` },
        );
      }
      return new RedisCluster(nodes);
    } catch (err) {
      await Promise.all(nodes.map((n) => n.dispose()));
      throw err;
    }
  }

  /** REDIS_URL for Herald: `redis+cluster://127.0.0.1:p1,…`. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
  }

  dispose(): Promise<void> {
    return Promise.all(this.nodes.map((n) => n.dispose())).then(() => undefined);
  }
}
