/**
 * Memory for parsed bodies. Small bodies are views carved out of shared slabs, as Node's
 * own Buffer pool does: a fresh ArrayBuffer per body costs about five times a view, and
 * the parser allocates one per frame. Regions are never reused, so no frame can see
 * another's bytes; the cost is that a retained small body keeps its slab alive.
 */
const SLAB_BYTES = 32 * 1024;
const MAX_POOLED = 2 * 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zero-filled Uint8Array of `size` bytes that belongs to the caller alone. */
export function allocBody(size: number): Uint8Array {
  if (size > MAX_POOLED || size === 0) return new Uint8Array(size);
  if (used + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const view = new Uint8Array(slab, used, size);
  used += size;
  return view;
}
