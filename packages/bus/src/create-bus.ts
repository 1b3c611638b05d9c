import type { Bus } from "./bus.js";
import { LocalBus } from "./local-bus.js";
import { RedisBus, type RedisBusOptions } from "./redis-bus.js";

export interface CreateBusOptions {
  /** REDIS_URL; absent or empty → the in-process LocalBus of the embedded default. */
  redisUrl?: string;
  channelPrefix?: string;
  /** Passed to RedisBus (connection names, hooks); ignored for LocalBus. */
  redis?: Omit<RedisBusOptions, "redisUrl" | "target" | "channelPrefix">;
}

/** The composition root's one call: LocalBus without Redis, RedisBus with it. Throws on a bad REDIS_URL. */
export function createBus(options: CreateBusOptions = {}): Bus {
  if (options.redisUrl === undefined || options.redisUrl.trim() === "") return new LocalBus();
  return new RedisBus({
    ...options.redis,
    redisUrl: options.redisUrl,
    ...(options.channelPrefix !== undefined ? { channelPrefix: options.channelPrefix } : {}),
  });
}

/** Resolves once `bus.state` is "up" (at once for LocalBus); rejects after `timeoutMs`. */
export function whenBusUp(bus: Bus, timeoutMs = 10_000): Promise<void> {
  if (bus.state === "up") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onState = (state: string) => {
      if (state !== "up") return;
      clearTimeout(timer);
      bus.off("state", onState);
      resolve();
    };
    const timer = setTimeout(() => {
      bus.off("state", onState);
      reject(new Error(`bus not up within ${timeoutMs} ms`));
    }, timeoutMs);
    bus.on("state", onState);
  });
}
