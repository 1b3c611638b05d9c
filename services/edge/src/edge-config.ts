import { hostname } from "node:os";
import { readBool, readBytes, readEnum, readInt, readList, readString, ConfigError, type Env } from "@herald/config";
import { trustedProxiesFromEnv, type TrustedProxies } from "./security/client-address.js";

export type SlowConsumerPolicy = "close" | "drop";

export interface EdgeConfig {
  readonly nodeId: string;
  readonly path: string;
  readonly allowedOrigins: readonly string[];
  readonly heartbeat: { readonly outgoingMs: number; readonly incomingMs: number };
  readonly maxFrameBytes: number;
  readonly connectTimeoutMs: number;
  readonly maxSubscriptionsPerConnection: number;
  readonly maxOutboundBytes: number;
  /** Messages a connection may hold unacknowledged (client ack modes) before it is closed. */
  readonly maxUnacked: number;
  /** Body bytes of those messages, per connection. */
  readonly maxUnackedBytes: number;
  readonly maxTransactionFrames: number;
  readonly maxTransactionBytes: number;
  readonly slowConsumerPolicy: SlowConsumerPolicy;
  readonly maxConnections: number;
  readonly insecureLoginAsUser: boolean;
  readonly idleTimeoutSeconds: number;
  /** HERALD_TRUSTED_PROXIES: whose X-Forwarded-For names the client address. */
  readonly trustedProxies: TrustedProxies;
}

function parseHeartbeat(env: Env): { outgoingMs: number; incomingMs: number } {
  const v = readString(env, "HERALD_HEARTBEAT_MS", "10000,10000");
  const m = /^(\d+)\s*,\s*(\d+)$/.exec(v);
  if (!m) throw new ConfigError("HERALD_HEARTBEAT_MS", `expected "outgoing,incoming" in ms like 10000,10000, got "${v}"`);
  return { outgoingMs: Number(m[1]), incomingMs: Number(m[2]) };
}

export function edgeConfigFromEnv(env: Env): EdgeConfig {
  return {
    nodeId: readString(env, "HERALD_NODE_ID", `${hostname()}-${process.pid}`),
    path: "/ws",
    allowedOrigins: readList(env, "HERALD_ALLOWED_ORIGINS", ["*"]),
    heartbeat: parseHeartbeat(env),
    maxFrameBytes: readBytes(env, "HERALD_MAX_FRAME_BYTES", 64 * 1024),
    connectTimeoutMs: readInt(env, "HERALD_CONNECT_TIMEOUT_MS", 10_000, { min: 100 }),
    maxSubscriptionsPerConnection: readInt(env, "HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION", 100, { min: 1 }),
    maxOutboundBytes: readBytes(env, "HERALD_MAX_OUTBOUND_BYTES", 1024 * 1024),
    maxUnacked: readInt(env, "HERALD_MAX_UNACKED", 1000, { min: 1 }),
    maxUnackedBytes: readBytes(env, "HERALD_MAX_UNACKED_BYTES", 4 * 1024 * 1024),
    maxTransactionFrames: readInt(env, "HERALD_MAX_TRANSACTION_FRAMES", 1000, { min: 1 }),
    maxTransactionBytes: readBytes(env, "HERALD_MAX_TRANSACTION_BYTES", 1024 * 1024),
    slowConsumerPolicy: readEnum(env, "HERALD_SLOW_CONSUMER_POLICY", ["close", "drop"] as const, "close"),
    maxConnections: readInt(env, "HERALD_MAX_CONNECTIONS", 100_000, { min: 1 }),
    insecureLoginAsUser: readBool(env, "HERALD_INSECURE_LOGIN_AS_USER", false),
    idleTimeoutSeconds: readInt(env, "HERALD_WS_IDLE_TIMEOUT_S", 120, { min: 0 }),
    trustedProxies: trustedProxiesFromEnv(env),
  };
}

/** True when `origin` may open a WebSocket ("*" allows all; a missing Origin is a non-browser client). */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (allowed.includes("*") || origin === undefined || origin === "") return true;
  return allowed.includes(origin);
}
