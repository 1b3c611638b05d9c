import type { FrameSink, Session } from "./session.js";
import type { Framing } from "./framings.js";
import type { Exchange, HeaderList } from "./http-io.js";

/**
 * A receiving HTTP request as a FrameSink. Polling: the first frame answers the
 * request. Streaming: frames are chunks of one response, which is ended once it
 * has carried `bytesLimit` bytes so the browser can free them and reconnect.
 */
export class HttpReceiver implements FrameSink {
  private sent = 0;
  private backlog = 0;
  private session: Session | null = null;
  private ended = false;

  constructor(
    private readonly ex: Exchange,
    private readonly framing: Framing,
    private readonly headers: HeaderList,
    private readonly bytesLimit: number,
  ) {
    if (framing.streaming) {
      this.track(ex.begin("200 OK", headers, framing.prelude), framing.prelude.length);
      ex.res.onWritable(() => {
        this.backlog = 0;
        return true;
      });
    }
    ex.onAbort(() => {
      this.ended = true;
      this.session?.detach(this, "aborted");
    });
  }

  /** Attaches this receiver to its session (done after construction so aborts can find it). */
  attachTo(session: Session): void {
    this.session = session;
    session.attach(this);
  }

  write(frame: string): boolean {
    if (this.ended) return false;
    const data = this.framing.wrap(frame);
    if (!this.framing.streaming) {
      this.ended = true;
      this.ex.respond("200 OK", this.headers, data);
      return false;
    }
    const bytes = Buffer.byteLength(data);
    this.track(this.ex.write(data), bytes);
    this.sent += bytes;
    if (this.sent >= this.bytesLimit) {
      this.ended = true;
      this.ex.end();
      return false;
    }
    return true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.framing.streaming) this.ex.end();
    else this.ex.respond("200 OK", this.headers, "");
  }

  buffered(): number {
    return this.backlog;
  }

  private track(ok: boolean, bytes: number): void {
    if (!ok || this.backlog > 0) this.backlog += bytes;
  }
}
