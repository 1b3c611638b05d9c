import { decodeCursor, encodeCursor, type CursorState, type CursorStore } from "./cursor-store.js";

/** Cursors of the embedded default: one process, so memory is the whole truth. */
export class MemoryCursorStore implements CursorStore {
  private readonly cursors = new Map<string, string>();

  load(owner: string, key: string): Promise<CursorState | undefined> {
    return Promise.resolve(decodeCursor(this.cursors.get(`${owner}\u0000${key}`)));
  }

  save(owner: string, key: string, state: CursorState): Promise<void> {
    this.cursors.set(`${owner}\u0000${key}`, encodeCursor(state));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.cursors.clear();
    return Promise.resolve();
  }
}
