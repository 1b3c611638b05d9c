/**
 * A map whose entries expire after a fixed TTL and that never holds more than
 * `maxEntries`. With one TTL for all, insertion order is expiry order, so purging
 * only ever looks at the front.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    this.purge();
    return this.entries.get(key)?.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    this.purge();
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    this.purge();
    return this.entries.size;
  }

  private purge(): void {
    const now = this.now();
    for (const [key, e] of this.entries) {
      if (e.expiresAt > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
