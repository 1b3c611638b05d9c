import { DEFAULT_CHANNEL_PREFIX } from "@herald/bus";
import { waitFor } from "@herald/testkit";
import type { Redis } from "ioredis";

/**
 * Resolves once at least `count` connections are subscribed to the destination's bus channel
 * across the given servers (SHARDNUMSUB on a cluster, where each shard counts its own).
 */
export async function whenSubscribed(admins: Redis[], destination: string, sharded: boolean, count = 1): Promise<void> {
  const channel = DEFAULT_CHANNEL_PREFIX + destination;
  await waitFor(
    async () => {
      let sum = 0;
      for (const a of admins) {
        const reply = sharded ? await a.pubsub("SHARDNUMSUB", channel) : await a.pubsub("NUMSUB", channel);
        sum += Number((reply as [string, number])[1]);
      }
      return sum >= count;
    },
    { timeoutMs: 5000, intervalMs: 20, what: `${count} subscriber(s) on ${channel}` },
  );
}
