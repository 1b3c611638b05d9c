import WebSocket from "ws";
import { StompParser, header, type Frame, type ServerCommand } from "@herald/stomp";

/**
 * A plain `ws` client that sends exactly the bytes a test gives it and parses what
 * comes back, for tests of malformed, split and batched frames.
 */
export class RawStomp {
  readonly frames: Array<Frame<ServerCommand>> = [];
  /** WebSocket message kinds as received: true for binary. */
  readonly binaryFlags: boolean[] = [];
  heartbeats = 0;
  closeCode: number | undefined;
  private readonly parser = StompParser.forClient({ maxFrameBytes: 16 * 1024 * 1024 });
  private readonly closed: Promise<number>;
  private listeners: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (data.length === 1 && data[0] === 0x0a) this.heartbeats++;
      for (const f of this.parser.push(new Uint8Array(data))) {
        this.frames.push(f);
        this.binaryFlags.push(isBinary);
      }
      for (const l of this.listeners) l();
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        resolve(code);
        for (const l of this.listeners) l();
      }),
    );
  }

  static open(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<RawStomp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocols ?? ["v12.stomp"], { headers: opts.headers ?? {}, perMessageDeflate: false });
      const raw = new RawStomp(ws);
      ws.once("open", () => resolve(raw));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  /** Opens and completes CONNECT with STOMP 1.2. */
  static async connected(url: string, connectHeaders: Record<string, string> = {}): Promise<RawStomp> {
    const raw = await RawStomp.open(url);
    raw.send(frameText("CONNECT", { "accept-version": "1.2", host: "localhost", "heart-beat": "0,0", ...connectHeaders }));
    const f = await raw.next();
    if (f.command !== "CONNECTED") throw new Error(`expected CONNECTED, got ${f.command}: ${header(f, "message") ?? ""}`);
    return raw;
  }

  send(data: string | Uint8Array, binary = typeof data !== "string"): void {
    this.ws.send(data, { binary });
  }

  /** The next frame not yet taken by next(). */
  private taken = 0;
  async next(timeoutMs = 3000): Promise<Frame<ServerCommand>> {
    await this.until(() => this.frames.length > this.taken || this.closeCode !== undefined, timeoutMs, "a frame");
    if (this.frames.length > this.taken) return this.frames[this.taken++]!;
    throw new Error(`connection closed (${this.closeCode}) before another frame`);
  }

  whenClosed(timeoutMs = 3000): Promise<number> {
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("connection not closed in time")), timeoutMs).unref()),
    ]);
  }

  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve();
      };
      this.listeners.push(check);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A frame as text, NUL-terminated; header values are written as given (no escaping). */
export function frameText(command: string, headers: Record<string, string> = {}, body = ""): string {
  let s = `${command}\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}:${v}\n`;
  return `${s}\n${body}\0`;
}
