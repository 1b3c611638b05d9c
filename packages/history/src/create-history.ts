import { LocalBus, RedisBus, type Bus } from "@herald/bus";
import { HistoryError, type History } from "./history.js";
import { MemoryHistory, type MemoryHistoryOptions } from "./memory-history.js";
import { RedisHistory, type RedisHistoryOptions } from "./redis-history.js";

export interface CreateHistoryOptions {
  /** REDIS_URL; absent or empty → MemoryHistory (the embedded default). */
  redisUrl?: string;
  /** The node's bus: a LocalBus without Redis, a RedisBus with it (RedisHistory publishes on the same channels). */
  bus: Bus;
  /** Must match the bus's channel prefix when it is not the default. */
  channelPrefix?: string;
  /** Passed to RedisHistory (connection name, trim mode, timeouts, hooks). */
  redis?: Omit<RedisHistoryOptions, "redisUrl" | "target" | "channelPrefix">;
  memory?: MemoryHistoryOptions;
}

/** The composition root's one call: MemoryHistory without Redis, RedisHistory with it. Throws on a mismatched bus. */
export function createHistory(options: CreateHistoryOptions): History {
  if (!options?.bus) throw new HistoryError("createHistory: bus is required");
  const redisUrl = options.redisUrl?.trim() ?? "";
  if (redisUrl === "") {
    if (options.bus instanceof RedisBus) throw new HistoryError("createHistory: no REDIS_URL but the bus is a RedisBus; history would live in one process while delivery spans nodes");
    return new MemoryHistory(options.bus, options.memory);
  }
  // RedisHistory publishes from its script, which only RedisBus subscribers receive.
  if (options.bus instanceof LocalBus) throw new HistoryError("createHistory: REDIS_URL is set but the bus is a LocalBus, which would never see what RedisHistory publishes");
  return new RedisHistory({ ...options.redis, redisUrl, ...(options.channelPrefix !== undefined ? { channelPrefix: options.channelPrefix } : {}) });
}
