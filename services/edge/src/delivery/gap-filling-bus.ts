import type { Bus, BusEvents, BusMessage, BusState, StreamPosition } from "@herald/bus";
import { HistoryUnavailableError, type History } from "@herald/history";

export interface GapFillingBusOptions {
  /** At most this many messages are re-read for one gap; a larger gap is reported lost. */
  maxGap: number;
  onGap?: (destination: string, missing: number) => void;
  /** Messages that could not be re-read (trimmed, history down): delivery skips over them. */
  onLost?: (destination: string, missing: number, reason: string) => void;
  /** While history is unavailable (its connection comes back on its own) a re-read is retried this long. Default 10000 ms. */
  retryForMs?: number;
}

interface Track {
  epoch: string;
  offset: number;
  /** Arrivals held while a gap is re-read, delivered after it in order. */
  held: BusMessage[] | undefined;
}

/**
 * The bus as the node's fan-out sees it: messages of destinations with history come out in
 * offset order, without duplicates and without holes. When offset n+2 follows n (the Redis link
 * blipped, a message was dropped) the node re-reads the gap from history before delivering,
 * once per destination, however many local subscribers it has. After the transport comes back
 * up every tracked destination is checked for what it missed while down.
 */
export class GapFillingBus implements Bus {
  private readonly tracks = new Map<string, Track>();
  private readonly interest = new Map<string, number>();
  private readonly listeners = new Set<BusEvents["message"]>();

  constructor(
    private readonly inner: Bus,
    private readonly history: History,
    private readonly options: GapFillingBusOptions,
  ) {
    inner.on("message", (m) => this.onMessage(m));
    inner.on("state", (s) => {
      if (s !== "up") return;
      this.catchUpAll();
      // Once more a little later: a message published between the catch-up read and the moment the
      // restored Redis subscription took effect is found by then.
      setTimeout(() => this.catchUpAll(), 1000).unref();
    });
  }

  get state(): BusState {
    return this.inner.state;
  }

  publish(message: BusMessage): Promise<void> {
    return this.inner.publish(message);
  }

  publishAll(messages: readonly BusMessage[]): Promise<void> {
    return this.inner.publishAll(messages);
  }

  subscribe(destination: string): void {
    this.interest.set(destination, (this.interest.get(destination) ?? 0) + 1);
    this.inner.subscribe(destination);
  }

  unsubscribe(destination: string): void {
    const n = (this.interest.get(destination) ?? 0) - 1;
    if (n <= 0) {
      this.interest.delete(destination);
      this.tracks.delete(destination);
    } else {
      this.interest.set(destination, n);
    }
    this.inner.unsubscribe(destination);
  }

  subscriptionCount(): number {
    return this.inner.subscriptionCount();
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    if (event === "message") this.listeners.add(listener as BusEvents["message"]);
    else this.inner.on(event, listener);
  }

  off<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    if (event === "message") this.listeners.delete(listener as BusEvents["message"]);
    else this.inner.off(event, listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * A subscription recovered up to `position` from history: when the node has not seen this
   * destination yet, that is where the bus stream continues, so a message that raced past the
   * new Redis subscription is re-read instead of missed.
   */
  seed(destination: string, position: StreamPosition): void {
    if (!this.interest.has(destination) || this.tracks.has(destination)) return;
    this.tracks.set(destination, { epoch: position.epoch, offset: position.offset, held: undefined });
  }

  /** The last position delivered for a destination (tests, diagnostics). */
  position(destination: string): StreamPosition | undefined {
    const t = this.tracks.get(destination);
    return t ? { epoch: t.epoch, offset: t.offset } : undefined;
  }

  private emit(m: BusMessage): void {
    for (const l of this.listeners) l(m);
  }

  private onMessage(m: BusMessage): void {
    const p = m.position;
    if (p === undefined || !this.interest.has(m.destination)) {
      this.emit(m);
      return;
    }
    let t = this.tracks.get(m.destination);
    if (t === undefined) {
      // The first message of a destination on this node: nothing earlier was expected here.
      this.tracks.set(m.destination, { epoch: p.epoch, offset: p.offset, held: undefined });
      this.emit(m);
      return;
    }
    if (t.held !== undefined) {
      t.held.push(m);
      return;
    }
    this.advance(m.destination, t, m);
  }

  /** Delivers `m` if it is next, drops it if seen, or starts re-reading the hole before it. */
  private advance(destination: string, t: Track, m: BusMessage): void {
    const p = m.position!;
    if (p.epoch !== t.epoch) {
      // A new incarnation of the stream: its earlier messages (offsets 1..n-1) are the gap.
      t.epoch = p.epoch;
      t.offset = 0;
    }
    if (p.offset <= t.offset) return;
    if (p.offset === t.offset + 1) {
      t.offset = p.offset;
      this.emit(m);
      return;
    }
    t.held = [m];
    void this.fill(destination, t, p.offset - 1);
  }

  /** Re-reads (t.offset, upTo] from history, then releases what arrived meanwhile. */
  private async fill(destination: string, t: Track, upTo: number | undefined): Promise<void> {
    const from: StreamPosition = { epoch: t.epoch, offset: t.offset };
    const missing = upTo === undefined ? undefined : upTo - from.offset;
    if (missing !== undefined) this.options.onGap?.(destination, missing);
    try {
      let r = await this.readRetrying(destination, t, from, missing === undefined ? this.options.maxGap : Math.min(missing, this.options.maxGap));
      if (this.tracks.get(destination) !== t) return; // unsubscribed meanwhile
      if (missing === undefined && r.reason === "epoch-changed") {
        // The stream was recreated while the transport was down: all of the new one is new.
        t.epoch = r.latest.epoch;
        t.offset = 0;
        r = await this.history.readSince(destination, { epoch: t.epoch, offset: 0 }, this.options.maxGap);
        if (this.tracks.get(destination) !== t) return;
      }
      for (const m of r.messages) {
        if (m.position!.epoch !== t.epoch || m.position!.offset !== t.offset + 1) break;
        t.offset = m.position!.offset;
        this.emit(m);
      }
      if (missing !== undefined && t.offset < upTo!) this.options.onLost?.(destination, upTo! - t.offset, r.reason ?? "limit");
    } catch (err) {
      if (this.tracks.get(destination) !== t) return;
      if (missing !== undefined) this.options.onLost?.(destination, upTo! - t.offset, err instanceof Error ? err.message : String(err));
    }
    const held = (t.held ?? []).sort((a, b) => a.position!.offset - b.position!.offset);
    t.held = undefined;
    // Past a hole that could not be filled, delivery goes on from the next message held.
    const first = held[0];
    if (first && first.position!.epoch === t.epoch && first.position!.offset > t.offset + 1 && missing !== undefined) t.offset = first.position!.offset - 1;
    for (let i = 0; i < held.length; i++) {
      // advance() may have started another re-read: the rest waits for it.
      const holding = t.held as BusMessage[] | undefined;
      if (holding !== undefined) {
        holding.push(...held.slice(i));
        return;
      }
      this.advance(destination, t, held[i]!);
    }
  }

  /** A history read, tried again while history is unavailable (Redis reconnecting), held messages waiting. */
  private async readRetrying(destination: string, t: Track, from: StreamPosition, limit: number) {
    const deadline = Date.now() + (this.options.retryForMs ?? 10_000);
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await this.history.readSince(destination, from, limit);
      } catch (err) {
        const tooMany = (t.held?.length ?? 0) > this.options.maxGap;
        if (!(err instanceof HistoryUnavailableError) || Date.now() + delay > deadline || tooMany || this.tracks.get(destination) !== t) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** After an outage: whatever each tracked destination got meanwhile is read and delivered. */
  private catchUpAll(): void {
    for (const [destination, t] of this.tracks) {
      if (t.held !== undefined) continue;
      t.held = [];
      void this.fill(destination, t, undefined);
    }
  }
}
