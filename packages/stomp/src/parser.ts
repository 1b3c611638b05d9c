import { allocBody } from "./body-pool.js";
import { StompCodecError, quote } from "./errors.js";
import { unescapeHeaderValue } from "./escape.js";
import {
  CLIENT_COMMANDS,
  SERVER_COMMANDS,
  escapesHeaders,
  isClientCommand,
  isServerCommand,
  type ClientCommand,
  type Command,
  type Frame,
  type ServerCommand,
  type StompVersion,
} from "./frame.js";

export interface ParserLimits {
  /** Command + headers + body, without the terminating NUL and the heart-beats around it. */
  maxFrameBytes: number;
  maxHeaders: number;
  /** One header line, without its EOL. */
  maxHeaderLineBytes: number;
}

export const DEFAULT_LIMITS: ParserLimits = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxHeaders: 64,
  maxHeaderLineBytes: 8 * 1024,
});

export type ParserOptions = Partial<ParserLimits> & { version?: StompVersion };

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
/** "UNSUBSCRIBE" plus an optional CR: any longer command line is garbage, and we say so early. */
const MAX_COMMAND_LINE = 12;
const CONTENT_LENGTH_VALUE = /^[0-9]+$/;

// Where the parser is within the byte stream.
const IDLE = 0; // between frames: heart-beat EOLs allowed
const COMMAND = 1; // reading the command line
const HEADERS = 2; // reading header lines until the blank line
const BODY_LENGTH = 3; // copying a content-length body
const EXPECT_NUL = 4; // content-length body done, the NUL must follow
const BODY_SCAN = 5; // no content-length: body runs to the first NUL
type State = typeof IDLE | typeof COMMAND | typeof HEADERS | typeof BODY_LENGTH | typeof EXPECT_NUL | typeof BODY_SCAN;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const EMPTY = new Uint8Array(0);
/**
 * Shared placeholders for per-frame arrays: an idle connection's parser holds no
 * arrays of its own (a connection costs memory for as long as it is open).
 */
const NO_HEADERS: Array<readonly [string, string]> = [];
const NO_PIECES: Uint8Array[] = [];
/** A line buffer this large is released once its frame is done. */
const KEEP_LINE_BYTES = 1024;

/** Command lookup tables, one per accepted command list (shared by every parser). */
const acceptedTables = new WeakMap<readonly Command[], ReadonlyMap<string, Command>>();
function acceptedTable<C extends Command>(accepted: readonly C[]): ReadonlyMap<string, C> {
  let table = acceptedTables.get(accepted);
  if (!table) {
    table = new Map(accepted.map((c) => [c, c]));
    acceptedTables.set(accepted, table);
  }
  return table as ReadonlyMap<string, C>;
}

/** The last limits object built: parsers of one server share one (they all have the same limits). */
let lastLimits: Readonly<ParserLimits> = DEFAULT_LIMITS;
function sharedLimits(maxFrameBytes: number, maxHeaders: number, maxHeaderLineBytes: number): Readonly<ParserLimits> {
  const l = lastLimits;
  if (l.maxFrameBytes === maxFrameBytes && l.maxHeaders === maxHeaders && l.maxHeaderLineBytes === maxHeaderLineBytes) return l;
  lastLimits = Object.freeze({ maxFrameBytes, maxHeaders, maxHeaderLineBytes });
  return lastLimits;
}

function checkLimit(name: keyof ParserLimits, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`StompParser option ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/**
 * A plain Uint8Array copy of chunk[from, to). Not chunk.slice: on a Node Buffer (what `ws`
 * hands out) slice is a view, and bodies must not alias memory the caller will reuse.
 */
function copyOf(chunk: Uint8Array, from: number, to: number): Uint8Array {
  const out = allocBody(to - from);
  out.set(chunk.subarray(from, to));
  return out;
}

function hex(byte: number): string {
  return "0x" + byte.toString(16).padStart(2, "0");
}

/**
 * Incremental STOMP 1.0/1.1/1.2 frame parser. Feed it bytes as they arrive; it keeps
 * its place between pushes (a partial line, a partial body) and never rescans what
 * it has consumed. Body bytes are copied once, out of the caller's chunk, so the
 * chunk may be reused after push returns (uWebSockets.js requires that).
 */
export class StompParser<C extends Command = Command> {
  /** A parser for the server side: accepts client commands only. */
  static forServer(opts?: ParserOptions): StompParser<ClientCommand> {
    return new StompParser<ClientCommand>(CLIENT_COMMANDS, "client", opts);
  }

  /** A parser for the client side: accepts server commands only. */
  static forClient(opts?: ParserOptions): StompParser<ServerCommand> {
    return new StompParser<ServerCommand>(SERVER_COMMANDS, "server", opts);
  }

  /** Version in force for header unescaping of the frames that follow (the session sets it after CONNECT). */
  version: StompVersion;
  readonly limits: Readonly<ParserLimits>;

  private readonly accepted: ReadonlyMap<string, C>;
  private readonly acceptedSide: "client" | "server";
  private failure: unknown = undefined;
  private failed = false;
  private beats = 0;
  private state: State = IDLE;
  /** Between frames: a CR was the last byte of the previous chunk. */
  private pendingCR = false;

  // The current line when it spans chunks (bounded by the line limits); allocated when first needed.
  private line: Uint8Array = EMPTY;
  private lineLen = 0;

  // The frame being read.
  private frameBytes = 0;
  private headerCount = 0;
  private command!: C;
  private escapes = true;
  private headers: Array<readonly [string, string]> = NO_HEADERS;
  private contentLength = -1;
  private body: Uint8Array = EMPTY;
  private bodyFill = 0;
  private pieces: Uint8Array[] = NO_PIECES;

  constructor(accepted: readonly C[], side: "client" | "server", opts: ParserOptions = {}) {
    this.accepted = acceptedTable(accepted);
    this.acceptedSide = side;
    this.version = opts.version ?? "1.2";
    this.limits = sharedLimits(
      checkLimit("maxFrameBytes", opts.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes),
      checkLimit("maxHeaders", opts.maxHeaders ?? DEFAULT_LIMITS.maxHeaders),
      checkLimit("maxHeaderLineBytes", opts.maxHeaderLineBytes ?? DEFAULT_LIMITS.maxHeaderLineBytes),
    );
  }

  /** Heart-beat EOLs (LF or CRLF between frames) seen since construction. */
  get heartbeats(): number {
    return this.beats;
  }

  /** True once push has thrown; every further push throws the same error. */
  get isFailed(): boolean {
    return this.failed;
  }

  /**
   * Feeds bytes; returns the frames completed by them, in order. Throws StompCodecError;
   * after a throw the parser stays failed (every further push throws the same error), and
   * frames completed earlier in the same chunk are not returned (use pushEach to get them).
   */
  push(chunk: Uint8Array): Frame<C>[] {
    const frames: Frame<C>[] = [];
    this.pushEach(chunk, (f) => { frames.push(f); });
    return frames;
  }

  /**
   * Like push, but hands each frame to `onFrame` as soon as it is complete, so the caller
   * may change `version` (after CONNECT) before the next frame in the same chunk is read.
   * If onFrame throws, the parser fails with that error. `thisArg` is onFrame's `this`
   * (lets a connection pass a prototype method instead of a closure of its own).
   */
  pushEach<T = undefined>(chunk: Uint8Array, onFrame: (this: T, frame: Frame<C>) => void, thisArg?: T): void {
    if (this.failed) throw this.failure;
    try {
      this.consume(chunk, onFrame, thisArg);
    } catch (err) {
      this.failed = true;
      this.failure = err;
      throw err;
    }
  }

  private consume<T>(chunk: Uint8Array, onFrame: (this: T, frame: Frame<C>) => void, thisArg: T | undefined): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      switch (this.state) {
        case IDLE: {
          const b = chunk[pos];
          if (this.pendingCR) {
            if (b !== LF) throw new StompCodecError("invalid-command", `carriage return between frames is followed by ${hex(b)}, not a line feed`);
            this.pendingCR = false;
            this.beats++;
            pos++;
          } else if (b === LF) {
            this.beats++;
            pos++;
          } else if (b === CR) {
            this.pendingCR = true;
            pos++;
          } else {
            this.startFrame();
          }
          break;
        }
        case COMMAND:
        case HEADERS: {
          const lf = chunk.indexOf(LF, pos);
          const end = lf === -1 ? n : lf;
          if (this.state === COMMAND && this.lineLen + (end - pos) > MAX_COMMAND_LINE) {
            throw this.badCommand(this.partialWith(chunk, pos, Math.min(end, pos + 40)), "is longer than any STOMP command");
          }
          if (lf === -1) {
            this.appendPartial(chunk, pos, n);
            pos = n;
            break;
          }
          let lineBytes: Uint8Array;
          if (this.lineLen === 0) {
            lineBytes = chunk.subarray(pos, lf); // the common case: the whole line is in this chunk, no copy
            this.countFrameBytes(lf - pos + 1);
          } else {
            this.appendPartial(chunk, pos, lf);
            lineBytes = this.line.subarray(0, this.lineLen);
            this.countFrameBytes(1);
          }
          this.lineLen = 0;
          pos = lf + 1;
          if (this.state === COMMAND) this.onCommandLine(lineBytes);
          else this.onHeaderLine(lineBytes);
          break;
        }
        case BODY_LENGTH: {
          const take = Math.min(n - pos, this.contentLength - this.bodyFill);
          this.body.set(chunk.subarray(pos, pos + take), this.bodyFill);
          this.bodyFill += take;
          pos += take;
          if (this.bodyFill === this.contentLength) this.state = EXPECT_NUL;
          break;
        }
        case EXPECT_NUL: {
          const b = chunk[pos];
          if (b !== NUL) {
            throw new StompCodecError(
              "missing-nul",
              `the ${this.contentLength}-byte body given by content-length is followed by ${hex(b)}, not the NUL that ends the frame`,
            );
          }
          pos++;
          this.emit(onFrame, thisArg);
          break;
        }
        case BODY_SCAN: {
          const nul = chunk.indexOf(NUL, pos);
          const end = nul === -1 ? n : nul;
          if (this.frameBytes + (end - pos) > this.limits.maxFrameBytes) {
            throw new StompCodecError(
              "frame-too-large",
              `${this.command} frame exceeds ${this.limits.maxFrameBytes} bytes (limit maxFrameBytes) and has no NUL yet`,
            );
          }
          this.frameBytes += end - pos;
          if (nul === -1) {
            const piece = new Uint8Array(n - pos); // temporary: not from the body pool
            piece.set(chunk.subarray(pos, n));
            if (this.pieces === NO_PIECES) this.pieces = [];
            this.pieces.push(piece);
            pos = n;
          } else {
            this.body = this.pieces.length === 0 ? copyOf(chunk, pos, nul) : this.joinPieces(chunk.subarray(pos, nul));
            pos = nul + 1;
            this.emit(onFrame, thisArg);
          }
          break;
        }
      }
    }
  }

  private startFrame(): void {
    this.state = COMMAND;
    this.frameBytes = 0;
    this.headerCount = 0;
    this.headers = [];
    this.contentLength = -1;
    this.body = EMPTY;
    this.bodyFill = 0;
    this.lineLen = 0;
  }

  private emit<T>(onFrame: (this: T, frame: Frame<C>) => void, thisArg: T | undefined): void {
    const frame: Frame<C> = { command: this.command, headers: this.headers, body: this.body };
    this.state = IDLE;
    this.headers = NO_HEADERS;
    this.body = EMPTY;
    this.pieces = NO_PIECES;
    if (this.line.length > KEEP_LINE_BYTES) this.line = EMPTY;
    onFrame.call(thisArg as T, frame);
  }

  private countFrameBytes(added: number): void {
    this.frameBytes += added;
    if (this.frameBytes > this.limits.maxFrameBytes) {
      throw new StompCodecError(
        "frame-too-large",
        `frame exceeds ${this.limits.maxFrameBytes} bytes (limit maxFrameBytes) within its ${this.state === COMMAND ? "command line" : "headers"}`,
      );
    }
  }

  /** Buffers part of a line that continues in a later chunk; enforces the limits as bytes arrive. */
  private appendPartial(chunk: Uint8Array, from: number, to: number): void {
    const added = to - from;
    if (added === 0) return;
    if (chunk.subarray(from, to).indexOf(NUL) !== -1) {
      if (this.state === COMMAND) throw this.badCommand(this.partialWith(chunk, from, to), "contains a NUL byte");
      throw this.nulInHeaders(this.headerCount + 1);
    }
    const total = this.lineLen + added;
    if (this.state === HEADERS && total > this.limits.maxHeaderLineBytes + 1 /* room for the CR of CRLF */) {
      throw new StompCodecError(
        "header-line-too-long",
        `header line ${this.headerCount + 1} exceeds ${this.limits.maxHeaderLineBytes} bytes (limit maxHeaderLineBytes) before its end of line`,
      );
    }
    if (this.frameBytes + added > this.limits.maxFrameBytes) {
      this.countFrameBytes(added); // throws
    }
    if (total > this.line.length) {
      const grown = new Uint8Array(Math.max(total, 256, this.line.length * 2));
      grown.set(this.line.subarray(0, this.lineLen));
      this.line = grown;
    }
    this.line.set(chunk.subarray(from, to), this.lineLen);
    this.lineLen = total;
    this.frameBytes += added;
  }

  /** The buffered partial line followed by chunk[from, to), for error messages. */
  private partialWith(chunk: Uint8Array, from: number, to: number): Uint8Array {
    const out = new Uint8Array(this.lineLen + (to - from));
    out.set(this.line.subarray(0, this.lineLen));
    out.set(chunk.subarray(from, to), this.lineLen);
    return out;
  }

  private joinPieces(last: Uint8Array): Uint8Array {
    let size = last.length;
    for (const p of this.pieces) size += p.length;
    const out = allocBody(size);
    let at = 0;
    for (const p of this.pieces) {
      out.set(p, at);
      at += p.length;
    }
    out.set(last, at);
    return out;
  }

  private badCommand(seen: Uint8Array, why: string): StompCodecError {
    const text = lossyUtf8.decode(seen.subarray(0, 40));
    const bom = seen[0] === 0xef && seen[1] === 0xbb && seen[2] === 0xbf ? " (it starts with a UTF-8 byte-order mark)" : "";
    return new StompCodecError("invalid-command", `invalid command line ${quote(text, 32)}: ${why}${bom}`);
  }

  private nulInHeaders(lineNo: number): StompCodecError {
    return new StompCodecError("invalid-header", `header line ${lineNo} contains a NUL byte: the frame ended before the blank line that closes its headers`);
  }

  private onCommandLine(bytes: Uint8Array): void {
    const len = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    const raw = bytes.subarray(0, len);
    // Commands are ASCII: a one-call Latin-1 decode of at most 12 bytes is enough to look them up.
    const name = String.fromCharCode.apply(null, raw as unknown as number[]);
    const command = this.accepted.get(name);
    if (command === undefined) {
      if (raw.indexOf(NUL) !== -1) throw this.badCommand(raw, "contains a NUL byte");
      if (isClientCommand(name) || isServerCommand(name)) {
        const other = this.acceptedSide === "client" ? "server" : "client";
        throw this.badCommand(raw, `${name} is a ${other} command; only ${this.acceptedSide} commands are accepted here`);
      }
      throw this.badCommand(raw, "is not a STOMP command");
    }
    this.command = command;
    this.escapes = escapesHeaders(command, this.version);
    this.state = HEADERS;
  }

  private onHeaderLine(bytes: Uint8Array): void {
    const len = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    if (len === 0) {
      this.endHeaders();
      return;
    }
    const lineNo = ++this.headerCount;
    const limits = this.limits;
    if (lineNo > limits.maxHeaders) {
      throw new StompCodecError("too-many-headers", `${this.command} frame has more than ${limits.maxHeaders} headers (limit maxHeaders)`);
    }
    if (len > limits.maxHeaderLineBytes) {
      throw new StompCodecError("header-line-too-long", `header line ${lineNo} is ${len} bytes, limit ${limits.maxHeaderLineBytes}`);
    }
    const raw = bytes.subarray(0, len);
    if (raw.indexOf(NUL) !== -1) throw this.nulInHeaders(lineNo);
    let text: string;
    try {
      text = strictUtf8.decode(raw);
    } catch {
      throw new StompCodecError("invalid-encoding", `header line ${lineNo} is not valid UTF-8: ${quote(lossyUtf8.decode(raw.subarray(0, 60)))}`);
    }
    const colon = text.indexOf(":");
    if (colon === -1) throw new StompCodecError("invalid-header", `header line ${lineNo} has no colon: ${quote(text)}`);
    if (colon === 0) throw new StompCodecError("invalid-header", `header line ${lineNo} has an empty name: ${quote(text)}`);
    let name = text.slice(0, colon);
    let value = text.slice(colon + 1);
    // The includes() checks keep the error context strings off the common path.
    if (this.escapes) {
      if (name.includes("\\")) name = unescapeHeaderValue(name, this.version, `header line ${lineNo} name`);
      if (value.includes("\\")) value = unescapeHeaderValue(value, this.version, `header line ${lineNo} (${quote(name)}) value`);
    }
    if (name === "content-length" && this.contentLength === -1) {
      if (!CONTENT_LENGTH_VALUE.test(value)) {
        throw new StompCodecError("invalid-content-length", `header line ${lineNo}: content-length ${quote(value)} is not a non-negative integer`);
      }
      this.contentLength = Number(value);
    }
    this.headers.push([name, value]);
  }

  private endHeaders(): void {
    const cl = this.contentLength;
    if (cl === -1) {
      this.state = BODY_SCAN;
      this.pieces = NO_PIECES;
      return;
    }
    if (this.frameBytes + cl > this.limits.maxFrameBytes) {
      throw new StompCodecError(
        "frame-too-large",
        `content-length ${cl} makes the ${this.command} frame ${this.frameBytes + cl} bytes, limit ${this.limits.maxFrameBytes}`,
      );
    }
    this.body = cl === 0 ? EMPTY : allocBody(cl);
    this.bodyFill = 0;
    this.state = cl === 0 ? EXPECT_NUL : BODY_LENGTH;
  }
}
