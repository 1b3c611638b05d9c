/**
 * Turns uWebSockets.js's HTTP/1.1 response to one request into a response an
 * HTTP/1.0 client can read: no `Transfer-Encoding` (chunked bodies are decoded
 * and sent as they come, so streams keep streaming), `Connection: close`, and the
 * end of the body marked by closing the connection (or by Content-Length when
 * the response has one). The status line keeps "HTTP/1.1", as RFC 9110 §2.5 has
 * a server answer with the highest minor version it speaks.
 */
export class Http10Response {
  private phase: "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "until-close" | "done" = "head";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  /**
   * `write` gets the bytes for the client; `end` is called once the response is
   * complete (the caller then closes the client's connection).
   */
  constructor(
    private readonly requestMethod: string,
    private readonly write: (bytes: Buffer) => void,
    private readonly end: () => void,
  ) {}

  get done(): boolean {
    return this.phase === "done";
  }

  /** Bytes from uWebSockets.js. Throws on a response it cannot frame (the caller closes both sides). */
  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    let i = 0;
    while (i < buf.length && this.phase !== "done") {
      switch (this.phase) {
        case "head": {
          const end = buf.indexOf("\r\n\r\n", i);
          if (end < 0) return this.keep(buf, i, 64 * 1024, "response head");
          this.head(buf.toString("latin1", i, end));
          i = end + 4;
          break;
        }
        case "length":
          i = this.pass(buf, i);
          if (this.remaining === 0) this.finish();
          break;
        case "until-close":
          this.write(buf.subarray(i));
          i = buf.length;
          break;
        case "chunk-size": {
          const eol = buf.indexOf("\r\n", i);
          if (eol < 0) return this.keep(buf, i, 1024, "chunk size line");
          const size = parseInt(buf.toString("latin1", i, eol).split(";")[0]!.trim(), 16);
          if (!Number.isSafeInteger(size) || size < 0) throw new Error("bad chunk size in the response");
          i = eol + 2;
          this.remaining = size;
          this.phase = size === 0 ? "trailers" : "chunk-data";
          break;
        }
        case "chunk-data":
          i = this.pass(buf, i);
          if (this.remaining === 0) this.phase = "chunk-end";
          break;
        case "chunk-end":
          if (buf.length - i < 2) return this.keep(buf, i, 2, "chunk end");
          if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) throw new Error("chunk data not followed by CRLF");
          i += 2;
          this.phase = "chunk-size";
          break;
        case "trailers": {
          const eol = buf.indexOf("\r\n", i);
          if (eol < 0) return this.keep(buf, i, 8 * 1024, "trailer");
          // Trailers cannot be forwarded after a close-delimited body: dropped.
          if (eol === i) this.finish();
          i = eol + 2;
          break;
        }
      }
    }
  }

  /** uWebSockets.js closed its side: that ends a close-delimited body. */
  upstreamEnded(): void {
    if (this.phase === "until-close") this.finish();
  }

  /** Sends on up to `remaining` body bytes from `buf` at `from`; returns where it stopped. */
  private pass(buf: Buffer, from: number): number {
    const n = Math.min(this.remaining, buf.length - from);
    this.write(buf.subarray(from, from + n));
    this.remaining -= n;
    return from + n;
  }

  private keep(buf: Buffer, from: number, max: number, what: string): void {
    if (buf.length - from > max) throw new Error(`${what} longer than ${max} bytes in the response`);
    this.pending = Buffer.from(buf.subarray(from));
  }

  private head(text: string): void {
    const [statusLine, ...lines] = text.split("\r\n");
    const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(statusLine!)?.[1]);
    if (!status) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
    // An interim response (100 Continue) is not for a 1.0 client; the final one follows.
    if (status >= 100 && status < 200 && status !== 101) return;
    const named = lines.map((l) => ({ line: l, name: l.slice(0, Math.max(0, l.indexOf(":"))).trim().toLowerCase(), value: l.slice(l.indexOf(":") + 1).trim() }));
    const chunked = named.some((h) => h.name === "transfer-encoding" && /(^|,)\s*chunked\s*$/i.test(h.value));
    const length = named.find((h) => h.name === "content-length")?.value;
    const kept = named.filter((h) => h.name !== "transfer-encoding" && h.name !== "connection" && h.name !== "keep-alive").map((h) => h.line);
    this.write(Buffer.from([statusLine, ...kept, "connection: close", "", ""].join("\r\n"), "latin1"));
    const bodiless = this.requestMethod === "HEAD" || status === 204 || status === 304;
    if (bodiless) this.finish();
    else if (chunked) this.phase = "chunk-size";
    else if (length !== undefined && /^\d+$/.test(length)) {
      this.remaining = Number(length);
      if (this.remaining === 0) this.finish();
      else this.phase = "length";
    } else this.phase = "until-close";
  }

  private finish(): void {
    this.phase = "done";
    this.end();
  }
}
