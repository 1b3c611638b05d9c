import type { HttpRequest, HttpResponse } from "uWebSockets.js";

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/**
 * Everything this library needs from a uWS request, copied out while the handler
 * runs (uWS requests are stack-allocated and die when the handler returns).
 */
export interface RequestInfo {
  readonly method: string;
  /** Path without the query string, as sent (not percent-decoded). */
  readonly path: string;
  readonly query: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
}

const decoder = new TextDecoder();

export function remoteAddressOf(res: HttpResponse): string {
  return decoder.decode(res.getRemoteAddressAsText());
}

export function readRequest(res: HttpResponse, req: HttpRequest): RequestInfo {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  });
  return {
    method: req.getMethod(),
    path: req.getUrl(),
    query: req.getQuery() ?? "",
    headers,
    remoteAddress: remoteAddressOf(res),
  };
}

/** Decoded value of one query parameter, or undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  const v = new URLSearchParams(query).get(name);
  return v === null ? undefined : v;
}

/**
 * One HTTP exchange: tracks abort so nothing touches `res` afterwards, and corks
 * every write made outside the request handler.
 */
export class Exchange {
  private isAborted = false;
  private isDone = false;
  private abortListener: (() => void) | null = null;

  constructor(readonly res: HttpResponse) {
    res.onAborted(() => {
      this.isAborted = true;
      const l = this.abortListener;
      this.abortListener = null;
      if (l !== null) l();
    });
  }

  /** The connection is gone or the response was ended: `res` must not be used. */
  get finished(): boolean {
    return this.isAborted || this.isDone;
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  onAbort(listener: () => void): void {
    this.abortListener = listener;
  }

  /** Writes status and headers and ends the response with body (or without one). */
  respond(status: string, headers: HeaderList, body?: string): void {
    if (this.finished) return;
    this.isDone = true;
    this.abortListener = null;
    const res = this.res;
    res.cork(() => {
      res.writeStatus(status);
      for (const [k, v] of headers) res.writeHeader(k, v);
      if (body === undefined) res.endWithoutBody();
      else res.end(body);
    });
  }

  /** Starts a streamed (chunked) response with its first chunk. */
  begin(status: string, headers: HeaderList, firstChunk: string): boolean {
    if (this.finished) return false;
    const res = this.res;
    let ok = true;
    res.cork(() => {
      res.writeStatus(status);
      for (const [k, v] of headers) res.writeHeader(k, v);
      ok = res.write(firstChunk);
    });
    return ok;
  }

  /** Writes one more chunk of a streamed response. Returns false under backpressure. */
  write(chunk: string): boolean {
    if (this.finished) return false;
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  /** Ends a response, with an optional last body part. */
  end(body?: string): void {
    if (this.finished) return;
    this.isDone = true;
    this.abortListener = null;
    this.res.cork(() => {
      this.res.end(body ?? "");
    });
  }
}

/**
 * Reads a request body up to `limit` bytes. Calls onBody once with the whole body,
 * or onTooLarge as soon as the limit is passed. The caller owns the abort handling
 * (through Exchange).
 */
export function readBody(ex: Exchange, limit: number, onBody: (body: Buffer) => void, onTooLarge: () => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  let over = false;
  ex.res.onData((chunk, isLast) => {
    if (over || ex.finished) return;
    size += chunk.byteLength;
    if (size > limit) {
      over = true;
      onTooLarge();
      return;
    }
    // uWS neuters the chunk after this callback: copy it.
    parts.push(Buffer.from(new Uint8Array(chunk).slice()));
    if (isLast) onBody(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  });
}
