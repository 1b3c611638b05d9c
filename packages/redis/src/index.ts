export { parseRedisUrl, isCluster, redact } from "./redis-url.js";
export type { RedisTarget, StandaloneTarget, ClusterTarget, SentinelTarget, HostPort } from "./redis-url.js";
export { createRedisClient, clusterNodeTarget, reconnectDelay } from "./create-client.js";
export { keySlot, CLUSTER_SLOTS } from "./key-slot.js";
export type { ClientPurpose } from "./create-client.js";
export type { Redis, Cluster } from "ioredis";
