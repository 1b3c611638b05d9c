export { parseRedisUrl, isCluster, redact } from "./redis-url.js";
export type { RedisTarget, StandaloneTarget, ClusterTarget, SentinelTarget, HostPort } from "./redis-url.js";
export { createRedisClient, reconnectDelay } from "./create-client.js";
export type { ClientPurpose } from "./create-client.js";
export type { Redis, Cluster } from "ioredis";
