import type { StreamPosition } from "@herald/bus";
import { MAX_STARTS_PER_OWNER, nackField, type CursorOwner, type CursorState, type CursorStore } from "./cursor-store.js";

export interface MemoryCursorStoreOptions {
  /** An owner's cursors unused this long are forgotten, as in Redis. Default 7 days. */
  ttlMs?: number;
  /** How often expired entries are dropped from memory. Default 60000 ms. */
  sweepIntervalMs?: number;
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/** One owner's durable state: cursors, NACK counts per subscription, and starts (see CursorStore.saveStart). */
interface OwnerState {
  readonly cursors: Map<string, CursorState>;
  readonly nacks: Map<string, Map<string, number>>;
  /** Refreshed on every write, as the Redis hash's TTL. */
  expiresAt: number;
}

/** Cursors of the embedded default: one process, so memory is the whole truth. */
export class MemoryCursorStore implements CursorStore {
  // Owners by "<kind>:<name>" (the kind has no ":"), then subscriptions: no key can stand for two.
  private readonly owners = new Map<string, OwnerState>();
  private readonly starts = new Map<string, Map<string, Expiring<CursorState>>>();
  private readonly ttlMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryCursorStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 7 * 86_400_000;
    this.sweeper = setInterval(() => this.sweep(Date.now()), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  load(owner: CursorOwner, key: string): Promise<CursorState | undefined> {
    return Promise.resolve(this.owner(owner, false)?.cursors.get(key));
  }

  save(owner: CursorOwner, key: string, state: CursorState): Promise<void> {
    this.owner(owner, true)!.cursors.set(key, state);
    return Promise.resolve();
  }

  saveStart(owner: CursorOwner, key: string, state: CursorState, ttlMs: number): Promise<void> {
    const id = ownerId(owner);
    let mine = this.starts.get(id);
    if (mine === undefined) this.starts.set(id, (mine = new Map()));
    // Re-inserted at the end: the map's order is the order of the last SUBSCRIBE, the oldest go first.
    mine.delete(key);
    mine.set(key, { value: state, expiresAt: Date.now() + ttlMs });
    for (const oldest of mine.keys()) {
      if (mine.size <= MAX_STARTS_PER_OWNER) break;
      mine.delete(oldest);
    }
    return Promise.resolve();
  }

  loadStart(owner: CursorOwner, key: string): Promise<CursorState | undefined> {
    const start = this.starts.get(ownerId(owner))?.get(key);
    return Promise.resolve(start !== undefined && start.expiresAt > Date.now() ? start.value : undefined);
  }

  forgetStart(owner: CursorOwner, key: string): Promise<void> {
    const id = ownerId(owner);
    const mine = this.starts.get(id);
    if (mine?.delete(key) && mine.size === 0) this.starts.delete(id);
    return Promise.resolve();
  }

  countNack(owner: CursorOwner, key: string, position: StreamPosition): Promise<number> {
    const nacks = this.owner(owner, true)!.nacks;
    let counts = nacks.get(key);
    if (counts === undefined) nacks.set(key, (counts = new Map()));
    const n = (counts.get(nackField(position)) ?? 0) + 1;
    counts.set(nackField(position), n);
    return Promise.resolve(n);
  }

  nackCounts(owner: CursorOwner, key: string): Promise<Map<string, number>> {
    return Promise.resolve(new Map(this.owner(owner, false)?.nacks.get(key)));
  }

  forgetNacks(owner: CursorOwner, key: string, positions: readonly StreamPosition[]): Promise<void> {
    const nacks = this.owner(owner, false)?.nacks;
    const counts = nacks?.get(key);
    for (const p of positions) counts?.delete(nackField(p));
    if (counts?.size === 0) nacks!.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.owners.clear();
    this.starts.clear();
    return Promise.resolve();
  }

  /** An owner's live state; with `write`, created if missing and kept for another TTL. */
  private owner(owner: CursorOwner, write: boolean): OwnerState | undefined {
    const id = ownerId(owner);
    const now = Date.now();
    let state = this.owners.get(id);
    if (state !== undefined && state.expiresAt <= now) {
      this.owners.delete(id);
      state = undefined;
    }
    if (!write) return state;
    if (state === undefined) this.owners.set(id, (state = { cursors: new Map(), nacks: new Map(), expiresAt: 0 }));
    state.expiresAt = now + this.ttlMs;
    return state;
  }

  private sweep(now: number): void {
    for (const [id, state] of this.owners) if (state.expiresAt <= now) this.owners.delete(id);
    for (const [id, mine] of this.starts) {
      for (const [key, start] of mine) if (start.expiresAt <= now) mine.delete(key);
      if (mine.size === 0) this.starts.delete(id);
    }
  }
}

function ownerId(owner: CursorOwner): string {
  return `${owner.kind}:${owner.name}`;
}
