import type { HttpResponse } from "@herald/uws";

/**
 * Collects a request body up to `limit` bytes. Must be called in the handler's
 * synchronous part (uWebSockets.js delivers data only to a handler attached then).
 * Past the limit it stops buffering at once and calls onTooLarge; the caller answers
 * 413 and closes the connection, so the rest is never read.
 */
export function readBody(res: HttpResponse, limit: number, onBody: (body: Buffer) => void, onTooLarge: () => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > limit) {
      over = true;
      chunks = [];
      onTooLarge();
      return;
    }
    // uWebSockets.js reuses the chunk's memory after this callback returns: copy it.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}
