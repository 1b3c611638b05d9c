import type { HttpResponse } from "@herald/uws";

/**
 * How much of a too-large body with a declared Content-Length is still read (and
 * thrown away) before the 413. A socket closed with bytes still unread is reset
 * (RST), and a client that is still sending then sees EPIPE or ECONNRESET instead
 * of the answer (Node's fetch does). Reading to the end lets it read the 413; past
 * this size the connection is cut at once rather than spend the bandwidth.
 */
export const DISCARD_LIMIT = 16 * 1024 * 1024;

/**
 * Collects a request body up to `limit` bytes. Must be called in the handler's
 * synchronous part (uWebSockets.js delivers data only to a handler attached then).
 * Past the limit it stops buffering and calls onTooLarge (the caller answers 413
 * and closes the connection): once the declared body has been read to its end
 * when it declared one of at most DISCARD_LIMIT bytes (`declaredLength`), else at
 * once (a chunked body may never end, and one that large is not worth reading).
 */
export function readBody(res: HttpResponse, limit: number, declaredLength: number | undefined, onBody: (body: Buffer) => void, onTooLarge: () => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let refused = false;
  const drain = declaredLength !== undefined && declaredLength <= DISCARD_LIMIT;
  res.onData((chunk, isLast) => {
    if (refused) return;
    size += chunk.byteLength;
    if (!over && size > limit) {
      over = true;
      chunks = [];
    }
    if (over) {
      if (!drain || isLast) {
        refused = true;
        onTooLarge();
      }
      return;
    }
    // uWebSockets.js reuses the chunk's memory after this callback returns: copy it.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}
