import type { StreamPosition } from "@herald/bus";
import { decodeCursor, encodeCursor, MAX_STARTS_PER_OWNER, nackField, type CursorOwner, type CursorState, type CursorStore } from "./cursor-store.js";

/** The few ioredis commands the store uses (a Redis or Cluster client satisfies it). */
export interface CursorRedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  pexpire(key: string, milliseconds: number): Promise<number>;
  hincrby(key: string, field: string, increment: number): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export interface RedisCursorStoreOptions {
  /** Key prefix; the owner is the hash tag, so one owner's cursors share a cluster slot. Default "herald:cursors:". */
  keyPrefix?: string;
  /** A hash unused this long is forgotten. Default 7 days. */
  ttlMs?: number;
}

/**
 * KEYS: the owner's starts hash. ARGV: field, "<expires at ms>|<cursor>", ttl ms, most fields.
 * Each start carries its own deadline (Redis 7.0 has no per-field TTL); the hash lives as long
 * as its longest start, and beyond the cap other starts are dropped at random.
 */
const SAVE_START_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local n = redis.call('HLEN', KEYS[1])
while n > tonumber(ARGV[4]) do
  local f = redis.call('HRANDFIELD', KEYS[1])
  if f ~= ARGV[1] then
    redis.call('HDEL', KEYS[1], f)
    n = n - 1
  end
end
return n
`;

/**
 * Durable cursors in Redis: one hash per owner, one field per subscription
 * (`<bus destination>|<name>`), so any edge node a client reconnects to finds them. Users and
 * client-ids have separate keys that cannot meet: `herald:cursors:{alice}` for user alice,
 * `herald:cursors:client-id:{alice}` for a connection whose CONNECT said `client-id:alice`.
 * NACK counts sit next to them, one hash per subscription that has any (`<owner key>:nacks:<field>`,
 * field `<epoch>:<offset>`), and starts of subscriptions nothing reached yet in `<owner key>:starts`
 * (see CursorStore.saveStart), all in the owner's slot.
 */
export class RedisCursorStore implements CursorStore {
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly client: CursorRedisClient,
    options: RedisCursorStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? "herald:cursors:";
    if (/[{}]/.test(this.prefix)) throw new Error(`RedisCursorStore: keyPrefix must not contain braces, got "${this.prefix}"`);
    this.ttlMs = options.ttlMs ?? 7 * 86_400_000;
    if (!(this.ttlMs > 0)) throw new Error(`RedisCursorStore: ttlMs must be > 0, got ${String(options.ttlMs)}`);
  }

  keyOf(owner: CursorOwner): string {
    // Braces inside the name would change the hash tag; they cannot occur in a URI-encoded name.
    const tag = `{${encodeURIComponent(owner.name)}}`;
    return owner.kind === "user" ? `${this.prefix}${tag}` : `${this.prefix}client-id:${tag}`;
  }

  async load(owner: CursorOwner, key: string): Promise<CursorState | undefined> {
    return decodeCursor(await this.client.hget(this.keyOf(owner), key));
  }

  async save(owner: CursorOwner, key: string, state: CursorState): Promise<void> {
    const k = this.keyOf(owner);
    await this.client.hset(k, key, encodeCursor(state));
    await this.client.pexpire(k, this.ttlMs);
  }

  startsKeyOf(owner: CursorOwner): string {
    return `${this.keyOf(owner)}:starts`;
  }

  async saveStart(owner: CursorOwner, key: string, state: CursorState, ttlMs: number): Promise<void> {
    const ms = Math.max(1, Math.ceil(ttlMs));
    await this.client.eval(SAVE_START_SCRIPT, 1, this.startsKeyOf(owner), key, `${Date.now() + ms}|${encodeCursor(state)}`, String(ms), String(MAX_STARTS_PER_OWNER));
  }

  async loadStart(owner: CursorOwner, key: string): Promise<CursorState | undefined> {
    const text = await this.client.hget(this.startsKeyOf(owner), key);
    const bar = text?.indexOf("|") ?? -1;
    if (text == null || bar < 0 || !(Number(text.slice(0, bar)) > Date.now())) return undefined;
    return decodeCursor(text.slice(bar + 1));
  }

  async forgetStart(owner: CursorOwner, key: string): Promise<void> {
    await this.client.hdel(this.startsKeyOf(owner), key);
  }

  nacksKeyOf(owner: CursorOwner, key: string): string {
    return `${this.keyOf(owner)}:nacks:${key}`;
  }

  async countNack(owner: CursorOwner, key: string, position: StreamPosition): Promise<number> {
    const k = this.nacksKeyOf(owner, key);
    // One connection keeps the order: the TTL applies to the hash HINCRBY just made.
    const [n] = await Promise.all([this.client.hincrby(k, nackField(position), 1), this.client.pexpire(k, this.ttlMs)]);
    return n;
  }

  async nackCounts(owner: CursorOwner, key: string): Promise<Map<string, number>> {
    const all = await this.client.hgetall(this.nacksKeyOf(owner, key));
    const out = new Map<string, number>();
    for (const [field, value] of Object.entries(all)) {
      const n = Number(value);
      if (Number.isSafeInteger(n) && n > 0) out.set(field, n);
    }
    return out;
  }

  async forgetNacks(owner: CursorOwner, key: string, positions: readonly StreamPosition[]): Promise<void> {
    if (positions.length > 0) await this.client.hdel(this.nacksKeyOf(owner, key), ...positions.map(nackField));
  }

  close(): Promise<void> {
    // The client belongs to the composition root, which closes it.
    return Promise.resolve();
  }
}
