import { keySlot } from "@herald/redis";
import { CrossSlotError } from "./bus.js";

/**
 * Refuses, with CrossSlotError, a batch whose channels (`channelPrefix + destination`) do not
 * all hash to one Redis Cluster slot: a MULTI or a script runs on one slot. History keeps a
 * destination's keys in its channel's slot, so this covers them too.
 */
export function checkOneSlot(destinations: readonly string[], channelPrefix: string): void {
  const first = destinations[0];
  if (first === undefined) return;
  const slotOf = (destination: string) => keySlot(channelPrefix + destination);
  const slot = slotOf(first);
  const other = destinations.find((d) => slotOf(d) !== slot);
  if (other === undefined) return;
  throw new CrossSlotError(
    `on Redis Cluster the destinations of one transaction must share a hash slot: "${first}" is in slot ${slot}, "${other}" in slot ${slotOf(other)}; nothing was published`,
  );
}
