import type { StreamPosition } from "@herald/bus";

/**
 * The acknowledged position of one durable subscription: every offset up to `offset` is
 * settled, plus the offsets in `acked` above it (client-individual acks out of order).
 */
export interface CursorState {
  readonly epoch: string;
  readonly offset: number;
  readonly acked: readonly number[];
}

/**
 * Whose durable state a cursor is: an authenticated user's, or (for a connection without a user)
 * its CONNECT client-id's. Two namespaces that never meet: a client that says `client-id:alice`
 * gets nothing of user alice's.
 */
export interface CursorOwner {
  readonly kind: "user" | "client-id";
  readonly name: string;
}

/** The newest starts one owner may have waiting (older ones are dropped): see CursorStore.saveStart. */
export const MAX_STARTS_PER_OWNER = 1000;

/** Where durable cursors live: a Redis hash per owner in cluster mode, memory in the embedded default. */
export interface CursorStore {
  /** `key` names the subscription within its owner. */
  load(owner: CursorOwner, key: string): Promise<CursorState | undefined>;
  save(owner: CursorOwner, key: string, state: CursorState): Promise<void>;
  /**
   * Where a durable subscription began, while nothing has reached it yet: a subscriber that comes
   * back (to any node) then gets everything published since. Unlike a cursor it costs nothing
   * lasting: kept `ttlMs` (renewed by the next SUBSCRIBE), at most MAX_STARTS_PER_OWNER per
   * owner, and replaced by the cursor once a message is delivered.
   */
  saveStart(owner: CursorOwner, key: string, state: CursorState, ttlMs: number): Promise<void>;
  /** The start saved for a subscription, if it has not expired (or been dropped). */
  loadStart(owner: CursorOwner, key: string): Promise<CursorState | undefined>;
  forgetStart(owner: CursorOwner, key: string): Promise<void>;
  /**
   * Counts one more NACK of the message at `position` and resolves with the count so far. Kept
   * next to the cursor (same owner, same TTL), so the redelivery limit holds across sessions and nodes.
   */
  countNack(owner: CursorOwner, key: string, position: StreamPosition): Promise<number>;
  /** The NACK counts of a subscription's messages that are not settled yet, by "<epoch>:<offset>". */
  nackCounts(owner: CursorOwner, key: string): Promise<Map<string, number>>;
  /** Forgets the NACK counts of settled messages. */
  forgetNacks(owner: CursorOwner, key: string, positions: readonly StreamPosition[]): Promise<void>;
  close(): Promise<void>;
}

/** Field of a message's NACK count: "<epoch>:<offset>". */
export function nackField(position: StreamPosition): string {
  return `${position.epoch}:${position.offset}`;
}

/**
 * "<epoch>:<offset>[:<acked,…>]"; epochs are base64url, so ":" never occurs in them. The empty
 * epoch is a start taken before the stream existed (see History.latest).
 */
export function encodeCursor(state: CursorState): string {
  return state.acked.length > 0 ? `${state.epoch}:${state.offset}:${state.acked.join(",")}` : `${state.epoch}:${state.offset}`;
}

/** The stored form back, or undefined when it is not one (a foreign or corrupted value is ignored, not fatal). */
export function decodeCursor(text: string | null | undefined): CursorState | undefined {
  if (!text) return undefined;
  const m = /^([^:]*):(\d{1,15})(?::([\d,]*))?$/.exec(text);
  if (!m) return undefined;
  const acked = m[3] ? m[3].split(",").filter((s) => s !== "").map(Number) : [];
  return { epoch: m[1]!, offset: Number(m[2]), acked };
}

/** At most this many out-of-order acks are remembered above the contiguous offset. */
export const MAX_ACKED_AHEAD = 10_000;

/**
 * A durable subscription's cursor in memory, written back to the store lazily (at most every
 * `flushMs`, and on close). A write lost to a crash only moves the cursor back: the client sees
 * those messages again, never loses one (at-least-once).
 *
 * Nothing lasting is written for a subscription that nothing reached: the cursor is stored from
 * the first message delivered (or acknowledged). Until then at most a start with a short life is
 * (`begin`), so SUBSCRIBE churn cannot fill the store.
 */
export class DurableCursor {
  private epoch: string | undefined;
  private offset = 0;
  private readonly acked = new Set<number>();
  /** NACK counts of unsettled messages, by nackField (loaded with the cursor, kept up to date by countNack). */
  private readonly nacks = new Map<string, number>();
  private dirty = false;
  /** A cursor (not only a start) is in the store, or on its way there. */
  private stored = false;
  /** A start may be in the store: forgotten once the cursor is written. */
  private hasStart = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CursorStore,
    readonly owner: CursorOwner,
    readonly key: string,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Reads the stored cursor, or else the start of a subscription nothing reached yet; undefined when neither. */
  async load(): Promise<StreamPosition | undefined> {
    const [s, start, nacks] = await Promise.all([
      this.store.load(this.owner, this.key),
      this.store.loadStart(this.owner, this.key),
      this.store.nackCounts(this.owner, this.key),
    ]);
    this.nacks.clear();
    for (const [field, n] of nacks) this.nacks.set(field, n);
    this.stored = s !== undefined;
    this.hasStart = start !== undefined;
    const found = s ?? start;
    if (!found) return undefined;
    this.epoch = found.epoch;
    this.offset = found.offset;
    this.acked.clear();
    for (const a of found.acked) if (a > found.offset) this.acked.add(a);
    return { epoch: found.epoch, offset: found.offset };
  }

  /**
   * The subscription begins at `position` unless a cursor or start was loaded. With `rememberMs`,
   * a subscription without a stored cursor keeps its start that long (renewed at each SUBSCRIBE),
   * so coming back soon gets everything published since; without it nothing is written (a new
   * cursor there replays what history retains anyway).
   */
  begin(position: StreamPosition, rememberMs: number | undefined): void {
    if (this.epoch === undefined) {
      this.epoch = position.epoch;
      this.offset = position.offset;
    }
    if (this.stored || rememberMs === undefined) return;
    this.hasStart = true;
    const state: CursorState = { epoch: this.epoch, offset: this.offset, acked: [...this.acked].sort((a, b) => a - b) };
    this.store.saveStart(this.owner, this.key, state, rememberMs).catch(this.onError);
  }

  /** A message was sent to the subscription: from now on its cursor is stored. */
  delivered(): void {
    if (!this.stored && this.epoch !== undefined) {
      this.stored = true;
      this.markDirty();
    }
  }

  isAcked(position: StreamPosition): boolean {
    return position.epoch === this.epoch && (position.offset <= this.offset || this.acked.has(position.offset));
  }

  /** NACKs of the message so far (0 when none): it goes out with herald-redelivery-count. */
  nackCount(position: StreamPosition): number {
    return this.nacks.size === 0 ? 0 : (this.nacks.get(nackField(position)) ?? 0);
  }

  /** One more NACK of the message, counted in the store (atomically, whichever node asks); resolves with the count. */
  async countNack(position: StreamPosition): Promise<number> {
    const n = await this.store.countNack(this.owner, this.key, position);
    this.nacks.set(nackField(position), n);
    return n;
  }

  ack(position: StreamPosition): void {
    this.stored = true;
    // A settled message's NACK count is no longer needed (one that is never settled expires with the cursor).
    if (this.nacks.delete(nackField(position))) this.store.forgetNacks(this.owner, this.key, [position]).catch(this.onError);
    if (position.epoch !== this.epoch) {
      // The stream was recreated: its offsets start again at 1.
      this.epoch = position.epoch;
      this.offset = 0;
      this.acked.clear();
    }
    if (position.offset <= this.offset || this.acked.has(position.offset)) return;
    this.acked.add(position.offset);
    while (this.acked.delete(this.offset + 1)) this.offset++;
    if (this.acked.size > MAX_ACKED_AHEAD) {
      // Too many acks beyond one old unacked message: give that message up rather than grow without bound.
      const lowest = Math.min(...this.acked);
      this.offset = lowest;
      this.acked.delete(lowest);
      while (this.acked.delete(this.offset + 1)) this.offset++;
    }
    this.markDirty();
  }

  /** Writes now if anything changed; resolves when written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty || this.epoch === undefined) return this.writing;
    this.dirty = false;
    const state: CursorState = { epoch: this.epoch, offset: this.offset, acked: [...this.acked].sort((a, b) => a - b) };
    const forgetStart = this.hasStart;
    this.hasStart = false;
    this.writing = this.writing.then(async () => {
      await this.store.save(this.owner, this.key, state);
      if (forgetStart) await this.store.forgetStart(this.owner, this.key);
    }).catch((err: unknown) => {
      // Try again later (a newer state may be written by then); meanwhile the old cursor only means repeats.
      this.hasStart ||= forgetStart;
      this.onError(err);
      this.markDirty();
    });
    return this.writing;
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }
}
