/**
 * Counts live connections per key (a user name, a remote address). The edge
 * calls tryAcquire on open and release exactly once on close of every
 * connection that was acquired. Keys at zero are forgotten, so memory follows
 * the live connections.
 */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  /** Counts one more connection for `key` unless it already has `max`; returns whether it did. */
  tryAcquire(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  /** Forgets one connection of `key`. Releasing a key with no connections is a caller bug and throws. */
  release(key: string): void {
    const n = this.counts.get(key);
    if (n === undefined) throw new Error(`ConnectionCounter.release: no connection is counted for this key`);
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  /** Live connections of `key`. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Number of keys with at least one live connection. */
  get size(): number {
    return this.counts.size;
  }
}
