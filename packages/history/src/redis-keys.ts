import { keySlot } from "@herald/redis";
/**
 * Where a destination's history lives in Redis.
 *
 *   <keyPrefix>{<tag>}:m   hash   e = epoch, n = offset of the newest message
 *   <keyPrefix>{<tag>}:s   stream entry ID `<offset>-0`, one field `e` = the bus envelope (position included)
 *   <keyPrefix>{<tag>}:d   list   "<offset> <message id>" of the newest appends (retries are recognised by id)
 *
 * The publish script also PUBLISHes (SPUBLISH on a cluster) on the bus channel of the destination,
 * `<channelPrefix><destination>`, which has no hash tag of its own. A sharded message reaches only
 * the subscribers of the shard that runs the SPUBLISH, and RedisBus subscribes on the shard owning
 * the channel's slot; the script runs where its keys live (and Redis refuses, inside a script, an
 * SPUBLISH to a channel whose slot another shard owns). So the keys must hash to the channel's
 * slot, and their tag is exactly the part of the channel name Redis hashes: the whole channel, e.g.
 *
 *   herald:history:{herald:bus:/user/ann/queue/n}:s
 *
 * or, when the destination itself holds a `{…}`, the same tag Redis takes from the channel. A
 * channel whose hashed part contains a "}" cannot be wrapped in braces; then the tag is a short
 * string that hashes to the same slot, followed by the destination to keep keys unique.
 */
export interface StreamKeys {
  readonly meta: string;
  readonly stream: string;
  readonly recent: string;
  readonly channel: string;
}

export const DEFAULT_KEY_PREFIX = "herald:history:";

export function streamKeys(destination: string, keyPrefix: string, channelPrefix: string): StreamKeys {
  if (keyPrefix.includes("{") || keyPrefix.includes("}")) throw new Error(`history key prefix must not contain braces, got "${keyPrefix}"`);
  const channel = channelPrefix + destination;
  const hashed = hashedPart(channel);
  let base: string;
  if (hashed === channel && !hashed.includes("}")) base = `${keyPrefix}{${channel}}`;
  // The tag alone no longer names the destination: the destination follows it.
  else if (!hashed.includes("}")) base = `${keyPrefix}{${hashed}}${destination}`;
  else base = `${keyPrefix}{${tagForSlot(keySlot(channel))}}${destination}`;
  return { meta: `${base}:m`, stream: `${base}:s`, recent: `${base}:d`, channel };
}

/** The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. */
export function hashedPart(key: string): string {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

export { keySlot };

const slotTags = new Map<number, string>();

/** A short brace-free string whose slot is `slot` (found once by counting, then remembered). */
function tagForSlot(slot: number): string {
  let tag = slotTags.get(slot);
  if (tag !== undefined) return tag;
  // Every slot is reached within the first ~103,000 candidates (measured), in well under 100 ms.
  for (let i = 0; ; i++) {
    const candidate = `s${i.toString(36)}`;
    if (keySlot(candidate) === slot) {
      tag = candidate;
      break;
    }
  }
  slotTags.set(slot, tag);
  return tag;
}
