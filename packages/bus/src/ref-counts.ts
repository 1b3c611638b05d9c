/** Counts interest per key and reports the transitions 0→1 and 1→0 that need I/O. */
export class RefCounts {
  private readonly counts = new Map<string, number>();

  /** Returns true when this is the first reference to `key`. */
  acquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return n === 0;
  }

  /** Returns true when this was the last reference to `key`. Unknown keys are ignored. */
  release(key: string): boolean {
    const n = this.counts.get(key);
    if (n === undefined) return false;
    if (n <= 1) {
      this.counts.delete(key);
      return true;
    }
    this.counts.set(key, n - 1);
    return false;
  }

  has(key: string): boolean {
    return this.counts.has(key);
  }

  keys(): IterableIterator<string> {
    return this.counts.keys();
  }

  get size(): number {
    return this.counts.size;
  }
}
