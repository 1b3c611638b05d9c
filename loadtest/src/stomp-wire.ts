/**
 * Just enough STOMP 1.2 framing for a load tool and the baseline server:
 * build frames as bytes, split a byte stream into frames, and read the
 * sequence number and send time that the load generator writes into bodies.
 * Not a conforming codec (no header unescaping): Herald's own codec lives in
 * packages/stomp; this stays small so it costs the measurement little.
 */
export interface WireFrame {
  command: string;
  headers: Map<string, string>;
  body: Buffer;
}

const NUL = 0;
const LF = 10;

export function encodeFrame(command: string, headers: Record<string, string | number>, body: Buffer | string = ""): Buffer {
  let head = command + "\n";
  for (const k in headers) head += `${k}:${headers[k]}\n`;
  head += "\n";
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const out = Buffer.allocUnsafe(Buffer.byteLength(head) + b.length + 1);
  const n = out.write(head, 0, "latin1");
  b.copy(out, n);
  out[n + b.length] = NUL;
  return out;
}

export class WireError extends Error {
  override readonly name = "WireError";
}

/**
 * Splits bytes into frames. Handles frames split across WebSocket messages and
 * several frames in one message, heart-beat EOLs, and content-length bodies.
 */
export class FrameSplitter {
  private pending: Buffer | undefined;

  constructor(private readonly maxFrameBytes = 1 << 20) {}

  push(chunk: Buffer, onFrame: (f: WireFrame) => void): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    for (;;) {
      while (pos < buf.length && (buf[pos] === LF || buf[pos] === 13)) pos++;
      if (pos >= buf.length) return;
      // Headers end at an empty line; STOMP 1.2 allows CRLF line ends.
      const lf = buf.indexOf("\n\n", pos, "latin1");
      const crlf = buf.indexOf("\n\r\n", pos, "latin1");
      const useCrlf = crlf >= 0 && (lf < 0 || crlf < lf);
      const headEnd = useCrlf ? crlf : lf;
      if (headEnd < 0) return this.keep(buf, pos);
      const lines = buf.toString("utf8", pos, headEnd).split("\n");
      const command = (lines[0] ?? "").replace(/\r$/, "");
      const headers = new Map<string, string>();
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!.replace(/\r$/, "");
        const c = line.indexOf(":");
        if (c <= 0) throw new WireError(`malformed header line "${line}" in ${command} frame`);
        const k = line.slice(0, c);
        if (!headers.has(k)) headers.set(k, line.slice(c + 1)); // STOMP: the first occurrence wins
      }
      const bodyStart = headEnd + (useCrlf ? 3 : 2);
      const cl = headers.get("content-length");
      let bodyEnd: number;
      if (cl !== undefined) {
        const len = Number(cl);
        if (!Number.isInteger(len) || len < 0) throw new WireError(`bad content-length "${cl}" in ${command} frame`);
        bodyEnd = bodyStart + len;
        if (bodyEnd >= buf.length) return this.keep(buf, pos);
        if (buf[bodyEnd] !== NUL) throw new WireError(`${command} frame: no NUL after content-length ${len} body`);
      } else {
        bodyEnd = buf.indexOf(NUL, bodyStart);
        if (bodyEnd < 0) return this.keep(buf, pos);
      }
      onFrame({ command, headers, body: buf.subarray(bodyStart, bodyEnd) });
      pos = bodyEnd + 1;
      if (pos >= buf.length) return;
    }
  }

  private keep(buf: Buffer, pos: number): void {
    if (buf.length - pos > this.maxFrameBytes) throw new WireError(`frame larger than ${this.maxFrameBytes} bytes`);
    this.pending = Buffer.from(buf.subarray(pos)); // copy: the caller may reuse its buffer
  }
}

/**
 * Now on the machine-wide monotonic clock (CLOCK_MONOTONIC via process.hrtime),
 * in nanoseconds as a Number: exact while uptime < 104 days (2^53 ns). All
 * processes on one machine share this clock, so a worker can subtract a
 * publisher's stamp from its own reading.
 */
export function nowNs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e9 + ns;
}

/** A load-test body: "<seq> <sent-ns> " then '.' filler up to the wanted size. */
export function stampBody(seq: number, size: number, sentNs: number = nowNs()): Buffer {
  const head = `${seq} ${sentNs} `;
  const len = Math.max(size, head.length);
  const b = Buffer.alloc(len, 0x2e);
  b.write(head, 0, "latin1");
  return b;
}

/** The same as text, for bodies that travel inside JSON (the publish API). */
export function stampText(seq: number, size: number, sentNs: number = nowNs()): string {
  const head = `${seq} ${sentNs} `;
  return head + ".".repeat(Math.max(0, size - head.length));
}

export interface Stamp {
  seq: number;
  sentNs: number;
}

/**
 * Reads the stamp from bytes [from, to) of a buffer, skipping a few leading
 * non-digits so that a body delivered JSON-quoted ("\"12 345 ...\"") is still read.
 */
export function readStamp(buf: Buffer, from = 0, to = buf.length): Stamp | undefined {
  let i = from;
  const lim = Math.min(to, from + 8);
  while (i < lim && (buf[i]! < 48 || buf[i]! > 57)) i++;
  let seq = 0;
  let j = i;
  while (j < to && buf[j]! >= 48 && buf[j]! <= 57) seq = seq * 10 + (buf[j++]! - 48);
  if (j === i || j >= to || buf[j] !== 32) return undefined;
  const k = ++j;
  let sentNs = 0;
  while (j < to && buf[j]! >= 48 && buf[j]! <= 57) sentNs = sentNs * 10 + (buf[j++]! - 48);
  if (j === k) return undefined;
  return { seq, sentNs };
}
