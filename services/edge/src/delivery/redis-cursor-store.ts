import type { StreamPosition } from "@herald/bus";
import { decodeCursor, encodeCursor, nackField, type CursorState, type CursorStore } from "./cursor-store.js";

/** The few ioredis commands the store uses (a Redis or Cluster client satisfies it). */
export interface CursorRedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  pexpire(key: string, milliseconds: number): Promise<number>;
  hincrby(key: string, field: string, increment: number): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
}

export interface RedisCursorStoreOptions {
  /** Key prefix; the owner is the hash tag, so one owner's cursors share a cluster slot. Default "herald:cursors:". */
  keyPrefix?: string;
  /** A hash unused this long is forgotten. Default 7 days. */
  ttlMs?: number;
}

/**
 * Durable cursors in Redis: one hash per owner (`herald:cursors:{alice}`), one field per
 * subscription (`<bus destination>|<name>`), so any edge node a client reconnects to finds them.
 * NACK counts sit next to them, one hash per subscription that has any
 * (`herald:cursors:{alice}:nacks:<bus destination>|<name>`, field `<epoch>:<offset>`), in the
 * same slot and with the same TTL.
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

  keyOf(owner: string): string {
    // Braces inside the owner would change the hash tag; they cannot occur in a URI-encoded name.
    return `${this.prefix}{${encodeURIComponent(owner)}}`;
  }

  async load(owner: string, key: string): Promise<CursorState | undefined> {
    return decodeCursor(await this.client.hget(this.keyOf(owner), key));
  }

  async save(owner: string, key: string, state: CursorState): Promise<void> {
    const k = this.keyOf(owner);
    await this.client.hset(k, key, encodeCursor(state));
    await this.client.pexpire(k, this.ttlMs);
  }

  nacksKeyOf(owner: string, key: string): string {
    return `${this.keyOf(owner)}:nacks:${key}`;
  }

  async countNack(owner: string, key: string, position: StreamPosition): Promise<number> {
    const k = this.nacksKeyOf(owner, key);
    // One connection keeps the order: the TTL applies to the hash HINCRBY just made.
    const [n] = await Promise.all([this.client.hincrby(k, nackField(position), 1), this.client.pexpire(k, this.ttlMs)]);
    return n;
  }

  async nackCounts(owner: string, key: string): Promise<Map<string, number>> {
    const all = await this.client.hgetall(this.nacksKeyOf(owner, key));
    const out = new Map<string, number>();
    for (const [field, value] of Object.entries(all)) {
      const n = Number(value);
      if (Number.isSafeInteger(n) && n > 0) out.set(field, n);
    }
    return out;
  }

  async forgetNacks(owner: string, key: string, positions: readonly StreamPosition[]): Promise<void> {
    if (positions.length > 0) await this.client.hdel(this.nacksKeyOf(owner, key), ...positions.map(nackField));
  }

  close(): Promise<void> {
    // The client belongs to the composition root, which closes it.
    return Promise.resolve();
  }
}
