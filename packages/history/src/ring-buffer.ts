/** Fixed-capacity FIFO: pushing onto a full buffer drops the oldest item. */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(private cap: number) {
    this.items = new Array<T | undefined>(cap);
  }

  get length(): number {
    return this.count;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Appends; returns true when the oldest item was dropped to make room. */
  push(item: T): boolean {
    const dropped = this.count === this.cap;
    this.items[(this.head + this.count) % this.cap] = item;
    if (dropped) this.head = (this.head + 1) % this.cap;
    else this.count++;
    return dropped;
  }

  /** The i-th oldest item (0 = oldest). */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) % this.cap];
  }

  /** Changes the capacity, keeping the newest items that fit. */
  resize(cap: number): void {
    if (cap === this.cap) return;
    const keep = Math.min(this.count, cap);
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < keep; i++) next[i] = this.at(this.count - keep + i);
    this.items = next;
    this.cap = cap;
    this.head = 0;
    this.count = keep;
  }
}
