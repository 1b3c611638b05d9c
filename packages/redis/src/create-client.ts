import { isIP } from "node:net";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { ClusterTarget, RedisTarget, StandaloneTarget } from "./redis-url.js";

export interface ClientPurpose {
  /** Shows up as the connection name (`CLIENT LIST`: herald:<name>) so operators can tell connections apart. */
  name: string;
  /** Connect on the first command instead of now. */
  lazy?: boolean;
  /**
   * A connection handed to BullMQ: BullMQ requires `maxRetriesPerRequest: null` (its blocking
   * commands must wait out a reconnect) and its Lua scripts expect RESP2 replies.
   */
  forBullmq?: boolean;
  /**
   * Queue commands while disconnected (ioredis default, true). A caller that must fail fast
   * instead of hanging (the bus publisher) turns this off.
   */
  offlineQueue?: boolean;
  /** Batch every command issued in one event-loop turn into a single write (ioredis auto-pipelining). */
  autoPipelining?: boolean;
  /**
   * A connection used only for SUBSCRIBE/SSUBSCRIBE whose owner restores subscriptions itself after
   * a reconnect (`autoResubscribe: false`). Not for a cluster target: sharded pub/sub needs one
   * connection per shard master (see clusterNodeTarget).
   */
  subscriber?: boolean;
}

/** The reconnect schedule: exponential from 50 ms, capped at 2 s, with jitter, forever. */
export function reconnectDelay(attempt: number): number {
  const capped = Math.min(50 * 2 ** Math.min(attempt, 10), 2000);
  // ±20% jitter so a fleet of nodes does not reconnect in lockstep after an outage.
  return Math.round(capped * (0.8 + Math.random() * 0.4));
}

/**
 * The one place that turns a RedisTarget into an ioredis client. Every client reconnects forever
 * with capped backoff; callers observe the connection through the client's `status` and events.
 */
export function createRedisClient(target: RedisTarget, purpose: ClientPurpose): Redis | Cluster {
  if (!purpose || typeof purpose.name !== "string" || purpose.name === "") {
    throw new Error("createRedisClient: purpose.name is required (it names the connection in CLIENT LIST)");
  }
  const common = {
    connectionName: `herald:${purpose.name}`,
    maxRetriesPerRequest: purpose.forBullmq ? null : 20,
    // Keep RESP2 for BullMQ (its scripts rely on RESP2 reply conversions).
    ...(purpose.forBullmq ? { protocol: 2 as const } : {}),
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  const offlineQueue = purpose.offlineQueue ?? true;

  switch (target.kind) {
    case "standalone": {
      const options: RedisOptions = {
        ...common,
        host: target.host,
        port: target.port,
        db: target.db,
        // SNI carries host names only; a certificate for an IP address is checked without it.
        ...(target.tls ? { tls: isIP(target.host) ? {} : { servername: target.host } } : {}),
        lazyConnect: purpose.lazy ?? false,
        enableOfflineQueue: offlineQueue,
        enableAutoPipelining: purpose.autoPipelining ?? false,
        autoResubscribe: !purpose.subscriber,
        retryStrategy: reconnectDelay,
      };
      return new Redis(options);
    }
    case "sentinel": {
      const options: RedisOptions = {
        ...common,
        sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: target.masterName,
        db: target.db,
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        lazyConnect: purpose.lazy ?? false,
        enableOfflineQueue: offlineQueue,
        enableAutoPipelining: purpose.autoPipelining ?? false,
        autoResubscribe: !purpose.subscriber,
        retryStrategy: reconnectDelay,
        // When every sentinel is unreachable, keep asking them again rather than giving up.
        sentinelRetryStrategy: reconnectDelay,
      };
      return new Redis(options);
    }
    case "cluster": {
      if (purpose.subscriber) {
        throw new Error("createRedisClient: a cluster has no single subscriber connection; open one per shard master with clusterNodeTarget()");
      }
      const options: ClusterOptions = {
        redisOptions: {
          ...common,
          ...(target.tls ? { tls: {} } : {}),
        },
        lazyConnect: purpose.lazy ?? false,
        enableOfflineQueue: offlineQueue,
        enableAutoPipelining: purpose.autoPipelining ?? false,
        clusterRetryStrategy: reconnectDelay,
        // Re-read the slot map now and then (ioredis's default is never), so a resharding or a
        // failover is noticed even by a client that sends nothing that would be MOVED.
        slotsRefreshInterval: 5000,
        // TLS certificates name the host, not the IP CLUSTER SLOTS reports: keep the name.
        ...(target.tls ? { dnsLookup: (address: string, callback: (err: NodeJS.ErrnoException | null, address: string) => void) => callback(null, address) } : {}),
      };
      return new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        options,
      );
    }
  }
}

/** One master of a cluster as a standalone target, with the cluster's credentials and TLS. */
export function clusterNodeTarget(cluster: ClusterTarget, host: string, port: number): StandaloneTarget {
  return {
    kind: "standalone",
    host,
    port,
    db: 0,
    tls: cluster.tls,
    ...(cluster.username !== undefined ? { username: cluster.username } : {}),
    ...(cluster.password !== undefined ? { password: cluster.password } : {}),
  };
}
