import { readBytes, readInt, ConfigError, type Env } from "@herald/config";

/** Abuse limits, each documented with its variable and default in the README. */
export interface LimitsConfig {
  /** HERALD_MAX_FRAME_BYTES: largest inbound frame (headers + body); default 64 KiB. */
  readonly maxFrameBytes: number;
  /** HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION: default 100. */
  readonly maxSubscriptionsPerConnection: number;
  /** HERALD_MAX_CONNECTIONS_PER_USER: live connections of one authenticated user, whole node; default 50. */
  readonly maxConnectionsPerUser: number;
  /** HERALD_MAX_CONNECTIONS_PER_ADDRESS: live connections from one remote address; default 1000. */
  readonly maxConnectionsPerAddress: number;
  /** HERALD_SEND_RATE: SEND frames per second per connection (token bucket rate); default 100. */
  readonly sendRatePerSec: number;
  /** HERALD_SEND_BURST: SEND frames a connection may send at once (bucket size); default 200. */
  readonly sendBurst: number;
  /** HERALD_SUBSCRIBE_RATE: SUBSCRIBE frames per second per connection; default 50. */
  readonly subscribeRatePerSec: number;
  /** HERALD_SUBSCRIBE_BURST: SUBSCRIBE frames a connection may send at once (a reconnect resubscribing everything); default 200. */
  readonly subscribeBurst: number;
  /** HERALD_CONNECT_TIMEOUT_MS: time from WebSocket open to a valid CONNECT; default 10 000. */
  readonly connectTimeoutMs: number;
  /** HERALD_MAX_CONNECTIONS: live connections on this node; default 100 000. */
  readonly maxConnections: number;
  /** HERALD_API_RATE: HTTP API requests per second per API key; default 1000. */
  readonly apiRatePerSec: number;
}

export const DEFAULT_LIMITS: LimitsConfig = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxSubscriptionsPerConnection: 100,
  maxConnectionsPerUser: 50,
  maxConnectionsPerAddress: 1000,
  sendRatePerSec: 100,
  sendBurst: 200,
  subscribeRatePerSec: 50,
  subscribeBurst: 200,
  connectTimeoutMs: 10_000,
  maxConnections: 100_000,
  apiRatePerSec: 1000,
});

/** Reads the limits; every value must be a whole number ≥ 1 (ConfigError names the variable otherwise). */
export function limitsConfigFromEnv(env: Env): LimitsConfig {
  const d = DEFAULT_LIMITS;
  const atLeastOne = { min: 1 };
  const maxFrameBytes = readBytes(env, "HERALD_MAX_FRAME_BYTES", d.maxFrameBytes);
  // Below 1 KiB not even a CONNECT with a JWT fits.
  if (maxFrameBytes < 1024) throw new ConfigError("HERALD_MAX_FRAME_BYTES", `must be at least 1KiB, got ${maxFrameBytes} bytes`);
  return {
    maxFrameBytes,
    maxSubscriptionsPerConnection: readInt(env, "HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION", d.maxSubscriptionsPerConnection, atLeastOne),
    maxConnectionsPerUser: readInt(env, "HERALD_MAX_CONNECTIONS_PER_USER", d.maxConnectionsPerUser, atLeastOne),
    maxConnectionsPerAddress: readInt(env, "HERALD_MAX_CONNECTIONS_PER_ADDRESS", d.maxConnectionsPerAddress, atLeastOne),
    sendRatePerSec: readInt(env, "HERALD_SEND_RATE", d.sendRatePerSec, atLeastOne),
    sendBurst: readInt(env, "HERALD_SEND_BURST", d.sendBurst, atLeastOne),
    subscribeRatePerSec: readInt(env, "HERALD_SUBSCRIBE_RATE", d.subscribeRatePerSec, atLeastOne),
    subscribeBurst: readInt(env, "HERALD_SUBSCRIBE_BURST", d.subscribeBurst, atLeastOne),
    connectTimeoutMs: readInt(env, "HERALD_CONNECT_TIMEOUT_MS", d.connectTimeoutMs, { min: 100 }),
    maxConnections: readInt(env, "HERALD_MAX_CONNECTIONS", d.maxConnections, atLeastOne),
    apiRatePerSec: readInt(env, "HERALD_API_RATE", d.apiRatePerSec, atLeastOne),
  };
}
