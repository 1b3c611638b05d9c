import type { StreamPosition } from "@herald/bus";
import { decodeCursor, encodeCursor, nackField, type CursorState, type CursorStore } from "./cursor-store.js";

/** Cursors of the embedded default: one process, so memory is the whole truth. */
export class MemoryCursorStore implements CursorStore {
  private readonly cursors = new Map<string, string>();
  /** NACK counts per subscription (`owner\0key`), by "<epoch>:<offset>". */
  private readonly nacks = new Map<string, Map<string, number>>();

  load(owner: string, key: string): Promise<CursorState | undefined> {
    return Promise.resolve(decodeCursor(this.cursors.get(`${owner}\u0000${key}`)));
  }

  save(owner: string, key: string, state: CursorState): Promise<void> {
    this.cursors.set(`${owner}\u0000${key}`, encodeCursor(state));
    return Promise.resolve();
  }

  countNack(owner: string, key: string, position: StreamPosition): Promise<number> {
    const id = `${owner}\u0000${key}`;
    let counts = this.nacks.get(id);
    if (counts === undefined) this.nacks.set(id, (counts = new Map()));
    const n = (counts.get(nackField(position)) ?? 0) + 1;
    counts.set(nackField(position), n);
    return Promise.resolve(n);
  }

  nackCounts(owner: string, key: string): Promise<Map<string, number>> {
    return Promise.resolve(new Map(this.nacks.get(`${owner}\u0000${key}`)));
  }

  forgetNacks(owner: string, key: string, positions: readonly StreamPosition[]): Promise<void> {
    const id = `${owner}\u0000${key}`;
    const counts = this.nacks.get(id);
    for (const p of positions) counts?.delete(nackField(p));
    if (counts?.size === 0) this.nacks.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.cursors.clear();
    this.nacks.clear();
    return Promise.resolve();
  }
}
