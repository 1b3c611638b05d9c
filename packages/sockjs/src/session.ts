import type { SockJsConnection, SockJsHandler, SockJsSessionListener, SockJsTransportName } from "./types.js";
import {
  ANOTHER_CONNECTION_FRAME,
  HEARTBEAT_FRAME,
  INTERRUPTED_CODE,
  INTERRUPTED_REASON,
  OPEN_FRAME,
  closeFrame,
  messagesFrame,
  quoteMessage,
} from "./frames.js";

/**
 * Where a session writes its frames: one websocket for the whole session, or the
 * current receiving HTTP request (a polling or streaming response).
 */
export interface FrameSink {
  /**
   * Writes one frame. Returns false when the sink has finished itself after this
   * frame (a poll answered, a streaming response past its byte limit); the
   * session then forgets it.
   */
  write(frame: string): boolean;
  /** Ends the sink after its last frame (the close frame or 2010); code is the session's close code. */
  end(code: number): void;
  /** Bytes the sink holds that the network has not taken yet. */
  buffered(): number;
}

/** What a session needs from whoever owns it (the mount for HTTP sessions, a websocket). */
export interface SessionHost {
  readonly handler: SockJsHandler;
  readonly heartbeatMs: number;
  /**
   * How long a session without a sink survives. null means the session lives and
   * dies with its only sink (websocket).
   */
  readonly disconnectDelayMs: number | null;
  /** The session is finished: drop it from registries and counts. */
  forget(session: Session): void;
  /** The handler threw; the session is closed with 1011 afterwards. */
  onHandlerError(err: unknown, session: Session): void;
}

export interface SessionInit {
  readonly id: string;
  readonly transport: SockJsTransportName;
  readonly remoteAddress: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: string;
}

/** Detaching a sink: it finished normally, or the network dropped it. */
export type DetachReason = "done" | "aborted";

/**
 * One SockJS session, whatever carries it. Owns the outgoing queue, the open and
 * close frames, heart-beats, the disconnect timer, and the once-only callbacks
 * to the handler's listener.
 */
export class Session implements SockJsConnection {
  readonly id: string;
  readonly transport: SockJsTransportName;
  readonly remoteAddress: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: string;

  private opened = false;
  private isClosed = false;
  private closeNotified = false;
  private forgotten = false;
  private listener: SockJsSessionListener | null = null;
  private sink: FrameSink | null = null;
  private queue: string[] = [];
  private queuedBytes = 0;
  private pendingClose: string | null = null;
  private flushScheduled = false;
  private heartbeatEnabled = true;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private disconnectTimer: NodeJS.Timeout | null = null;
  private closeCode = 0;

  constructor(init: SessionInit, private readonly host: SessionHost) {
    this.id = init.id;
    this.transport = init.transport;
    this.remoteAddress = init.remoteAddress;
    this.headers = init.headers;
    this.query = init.query;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ---- the handler's side -------------------------------------------------

  send(message: string): void {
    if (this.isClosed) return;
    const quoted = quoteMessage(String(message));
    this.queue.push(quoted);
    this.queuedBytes += quoted.length;
    if (this.sink !== null && !this.flushScheduled) {
      // Batch everything sent in this tick into one "a[...]" frame.
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  close(code = 1000, reason = "Normal closure"): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pendingClose = closeFrame(code, reason);
    this.closeCode = code;
    this.stopHeartbeat();
    // Messages sent before close still go out, ahead of the close frame.
    this.flush();
    const sink = this.sink;
    if (sink !== null) {
      this.sink = null;
      sink.write(this.pendingClose);
      sink.end(this.closeCode);
      this.sinkLost();
    }
    this.notifyClosed();
  }

  bufferedAmount(): number {
    return this.queuedBytes + (this.sink?.buffered() ?? 0);
  }

  setHeartbeatEnabled(enabled: boolean): void {
    this.heartbeatEnabled = enabled;
    if (!enabled) this.stopHeartbeat();
    else if (this.sink !== null && !this.isClosed) this.startHeartbeat();
  }

  // ---- the transport's side -----------------------------------------------

  /** Hands the session a receiving sink (a new poll, a new stream, the websocket). */
  attach(sink: FrameSink): void {
    if (this.sink !== null && this.sink !== sink) {
      sink.write(ANOTHER_CONNECTION_FRAME);
      sink.end(2010);
      return;
    }
    this.clearDisconnectTimer();
    if (!this.opened) {
      this.opened = true;
      this.sink = sink;
      if (!sink.write(OPEN_FRAME)) this.sink = null;
      try {
        this.listener = this.host.handler.onOpen(this);
      } catch (err) {
        this.host.onHandlerError(err, this);
        this.close(1011, "Internal error");
      }
      if (this.isClosed) this.notifyClosed();
      // Invariant: no sink means the disconnect timer runs (or the session is forgotten).
      if (this.sink === null) this.sinkLost();
      else this.startHeartbeat();
      return;
    }
    this.sink = sink;
    if (this.flush() && this.sink === sink) {
      if (this.pendingClose !== null) {
        this.sink = null;
        sink.write(this.pendingClose);
        sink.end(this.closeCode);
      } else {
        this.startHeartbeat();
        return;
      }
    }
    if (this.sink === null) this.sinkLost();
  }

  /** The sink is gone: it finished ("done") or the network dropped it ("aborted"). */
  detach(sink: FrameSink, reason: DetachReason): void {
    if (this.sink !== sink) return;
    this.sink = null;
    this.stopHeartbeat();
    if (reason === "aborted" || this.host.disconnectDelayMs === null) {
      this.close(INTERRUPTED_CODE, INTERRUPTED_REASON);
    }
    this.sinkLost();
  }

  /** Messages from the client, already decoded. */
  receive(messages: readonly string[]): void {
    const listener = this.listener;
    if (listener === null || this.isClosed) return;
    for (const m of messages) {
      if (this.isClosed) return;
      try {
        listener.onMessage(m);
      } catch (err) {
        this.host.onHandlerError(err, this);
        this.close(1011, "Internal error");
        return;
      }
    }
  }

  /** Server shutdown or disconnect timeout: close and forget now. */
  dispose(code: number, reason: string): void {
    this.close(code, reason);
    this.forget();
  }

  // ---- internals ------------------------------------------------------------

  /** Writes queued messages. Returns true when the current sink is still usable. */
  private flush(): boolean {
    const sink = this.sink;
    if (sink === null) return false;
    if (this.queue.length === 0) return true;
    const frame = messagesFrame(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
    if (sink.write(frame)) {
      this.restartHeartbeat();
      return true;
    }
    if (this.sink === sink) {
      this.sink = null;
      this.stopHeartbeat();
      this.sinkLost();
    }
    return false;
  }

  private sinkLost(): void {
    if (this.host.disconnectDelayMs === null) {
      this.forget();
      return;
    }
    if (this.disconnectTimer !== null || this.forgotten) return;
    this.disconnectTimer = setTimeout(() => {
      this.disconnectTimer = null;
      if (this.sink !== null) return;
      this.close(INTERRUPTED_CODE, "Session timed out");
      this.forget();
    }, this.host.disconnectDelayMs);
    // Session bookkeeping alone must not keep a process alive; the listen socket does.
    this.disconnectTimer.unref();
  }

  private forget(): void {
    this.clearDisconnectTimer();
    this.stopHeartbeat();
    if (this.forgotten) return;
    this.forgotten = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.host.forget(this);
  }

  private notifyClosed(): void {
    if (this.closeNotified || this.listener === null) return;
    this.closeNotified = true;
    try {
      this.listener.onClose();
    } catch (err) {
      this.host.onHandlerError(err, this);
    }
  }

  private clearDisconnectTimer(): void {
    if (this.disconnectTimer !== null) {
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = null;
    }
  }

  private startHeartbeat(): void {
    if (!this.heartbeatEnabled || this.isClosed || this.heartbeatTimer !== null) return;
    this.heartbeatTimer = setTimeout(() => this.beat(), this.host.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** A frame just went out; the next heart-beat is due a full interval later. */
  private restartHeartbeat(): void {
    if (this.heartbeatTimer !== null) this.heartbeatTimer.refresh();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) {
      clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
  }

  private beat(): void {
    this.heartbeatTimer = null;
    const sink = this.sink;
    if (sink === null || this.isClosed) return;
    if (sink.write(HEARTBEAT_FRAME)) {
      this.startHeartbeat();
    } else if (this.sink === sink) {
      this.sink = null;
      this.sinkLost();
    }
  }
}
