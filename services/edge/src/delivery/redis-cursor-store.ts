import { decodeCursor, encodeCursor, type CursorState, type CursorStore } from "./cursor-store.js";

/** The few ioredis commands the store uses (a Redis or Cluster client satisfies it). */
export interface CursorRedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  pexpire(key: string, milliseconds: number): Promise<number>;
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

  close(): Promise<void> {
    // The client belongs to the composition root, which closes it.
    return Promise.resolve();
  }
}
