import { createRedisClient, parseRedisUrl, type Cluster, type Redis } from "@herald/redis";
import { pino } from "pino";
import type { Bus, BusMessage } from "@herald/bus";
import { BusUnavailableError, LocalBus } from "@herald/bus";

export const silentLogger = pino({ level: "silent" });

export function bullmqConnection(url: string, name: string): Redis | Cluster {
  return createRedisClient(parseRedisUrl(url), { name, forBullmq: true });
}

/**
 * A LocalBus whose transport is "down" for the first `failures` publishes (or for as
 * long as `down` is true): publish rejects with BusUnavailableError as a RedisBus does.
 */
export class FlakyBus extends LocalBus {
  publishes = 0;
  down = false;
  constructor(private failures = 0) {
    super();
  }
  override publish(message: BusMessage): Promise<void> {
    this.publishes++;
    if (this.down || this.failures > 0) {
      this.failures--;
      return Promise.reject(new BusUnavailableError("bus down"));
    }
    return super.publish(message);
  }
}

/** Collects what a bus delivers for the destinations it was asked to receive. */
export function collect(bus: Bus, ...destinations: string[]): BusMessage[] {
  const got: BusMessage[] = [];
  for (const d of destinations) bus.subscribe(d);
  bus.on("message", (m) => got.push(m));
  return got;
}
