import type { BusMessage, StreamPosition } from "@herald/bus";
import type { History } from "@herald/history";
import type { DurableCursor } from "./cursor-store.js";
import { HEADER, type RecoveryOutcome } from "./delivery-headers.js";

/** Where a subscription's messages go: the session, which writes the MESSAGE frame. */
export interface StreamSink {
  /** Sends one message with extra header lines ("name:value\n" each, or ""). */
  send(message: BusMessage, extraHeaders: string): void;
  /** Bytes waiting on the connection: replay pauses above the high-water mark. */
  bufferedAmount(): number;
  /** False once the session closed or the subscription ended. */
  readonly open: boolean;
}

export interface SubscriptionStreamOptions {
  readonly busDestination: string;
  readonly history: History;
  readonly sink: StreamSink;
  /** The position the SUBSCRIBE asked to recover after. */
  readonly since?: StreamPosition;
  /** A durable subscription's acknowledged position. */
  readonly cursor?: DurableCursor;
  /** With a cursor that was never stored: replay what history retains (offline user) instead of starting now. */
  readonly replayRetainedWhenNew: boolean;
  /**
   * A new durable subscription that starts now keeps its start this long while nothing reached
   * it (DurableCursor.begin): coming back within it, it gets everything published since.
   */
  readonly rememberStartMs?: number;
  /** Messages the destination's history keeps: where a too-old position falls back to. */
  readonly retainedMax: number;
  /** At most this many messages replayed per SUBSCRIBE. */
  readonly recoveryMax: number;
  readonly pageSize: number;
  readonly highWaterBytes: number;
  /** ack:auto: a message counts as acknowledged once sent. */
  readonly autoAck: boolean;
  /** Told where replay ended, so the node's bus stream can continue from there. */
  readonly onRecovered?: (position: StreamPosition) => void;
  readonly onError?: (err: unknown) => void;
}

/**
 * One subscription's ordered view of a destination with history: replay from a position (or a
 * durable cursor) first, then live messages, with nothing lost or repeated at the seam. Live
 * messages that arrive while history is read wait here and are released after the replay,
 * minus those it already sent (offset <= last sent). A hole in the live stream (a message
 * raced past a fresh bus subscription) is re-read the same way.
 */
export class SubscriptionStream {
  private recovering = true;
  private pending: BusMessage[] = [];
  private last: StreamPosition | undefined;
  /** "herald-recovered:…\n" for the next frame sent, once. */
  private firstHeader = "";
  private closed = false;

  constructor(private readonly o: SubscriptionStreamOptions) {}

  get cursor(): DurableCursor | undefined {
    return this.o.cursor;
  }

  /** Finds where to start, replays, then goes live. Resolves with the recovery outcome (undefined: nothing to recover). */
  async start(): Promise<RecoveryOutcome | undefined> {
    let from = this.o.since;
    try {
      const cursor = this.o.cursor;
      if (cursor) {
        // Loaded even when the SUBSCRIBE names a position: acknowledgements then continue the stored cursor.
        const stored = await cursor.load();
        from ??= stored;
        if (from === undefined) {
          // A stream that does not exist yet is { offset 0, epoch "" }: everything of its first epoch comes after.
          const latest = await this.o.history.latest(this.o.busDestination);
          if (this.o.replayRetainedWhenNew) from = { epoch: latest.epoch, offset: Math.max(0, latest.offset - this.o.retainedMax) };
          else this.last = latest;
        }
        // A new cursor starts where this subscription starts: everything before counts as settled.
        cursor.begin(from ?? this.last!, this.o.replayRetainedWhenNew ? undefined : this.o.rememberStartMs);
      }
    } catch (err) {
      this.o.onError?.(err);
      this.firstHeader = `${HEADER.recovered}:unavailable\n`;
      this.release();
      return "unavailable";
    }
    if (from === undefined) {
      this.release();
      return undefined;
    }
    return this.recover(from, true);
  }

  /**
   * A live message from the fan-out. Returns the extra headers to send it with, or null when it
   * must not be sent now (held during a replay, or a duplicate).
   */
  admit(m: BusMessage): string | null {
    if (this.closed) return null;
    const p = m.position;
    if (p === undefined) return this.taken(m);
    if (this.recovering) {
      this.pending.push(m);
      return null;
    }
    const last = this.last;
    // A position taken before the stream existed (epoch "") is offset 0 of whichever epoch comes first.
    if (last !== undefined && (p.epoch === last.epoch || last.epoch === "")) {
      if (p.offset <= last.offset) return null;
      if (p.offset > last.offset + 1) {
        this.recovering = true;
        this.pending.push(m);
        void this.recover(last, false);
        return null;
      }
    }
    this.last = p;
    return this.taken(m);
  }

  acknowledge(position: StreamPosition): void {
    this.o.cursor?.ack(position);
  }

  /** The subscription ended: stop replaying and write the cursor back. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = [];
    await this.o.cursor?.flush();
  }

  private taken(m: BusMessage): string {
    this.o.cursor?.delivered();
    if (this.o.autoAck && m.position) this.o.cursor?.ack(m.position);
    let h = this.firstHeader;
    this.firstHeader = "";
    // A message NACKed in an earlier session comes again with its count (kept with the cursor).
    const nacks = m.position && this.o.cursor ? this.o.cursor.nackCount(m.position) : 0;
    if (nacks > 0) h += `${HEADER.redeliveryCount}:${nacks}\n`;
    return h;
  }

  private send(m: BusMessage): void {
    this.last = m.position;
    this.o.sink.send(m, this.taken(m));
  }

  private async recover(from: StreamPosition, initial: boolean): Promise<RecoveryOutcome> {
    const { history, busDestination, recoveryMax, pageSize } = this.o;
    let outcome: RecoveryOutcome | undefined;
    let pos = from;
    let count = 0;
    let fellBack: RecoveryOutcome | undefined;
    try {
      for (;;) {
        if (this.closed || !this.o.sink.open) break;
        const r = await history.readSince(busDestination, pos, Math.max(1, Math.min(pageSize, recoveryMax - count)));
        if (r.reason === "epoch-changed" || r.reason === "too-old") {
          // Deliver what the stream still holds, and say that something before it is gone.
          if (fellBack !== undefined) break;
          fellBack = r.reason;
          pos = { epoch: r.latest.epoch, offset: r.reason === "epoch-changed" ? 0 : Math.max(0, r.latest.offset - this.o.retainedMax) };
          continue;
        }
        if (outcome === undefined) {
          outcome = fellBack ?? (r.latest.offset - pos.offset > recoveryMax ? "limit" : "complete");
          if (initial) this.firstHeader = `${HEADER.recovered}:${outcome}\n`;
        }
        for (const m of r.messages) {
          pos = m.position!;
          count++;
          if (this.closed || !this.o.sink.open) break;
          // From the cursor, what was acknowledged out of order is skipped; an explicit position wins outright
          // (another session of the user may have acknowledged what this one never saw).
          if (this.o.since === undefined && this.o.cursor?.isAcked(pos)) continue;
          this.send(m);
          if (this.o.sink.bufferedAmount() > this.o.highWaterBytes) await this.drained();
        }
        if (this.last === undefined || this.last.epoch !== pos.epoch || this.last.offset < pos.offset) this.last = pos;
        if (r.complete) break;
        if (count >= recoveryMax) {
          // Bounded: the rest is skipped (the app was told "limit" and reloads); live messages go on from the top.
          const top = r.latest;
          if (top.epoch === this.last?.epoch && top.offset > this.last.offset) this.last = top;
          break;
        }
      }
    } catch (err) {
      this.o.onError?.(err);
      outcome ??= "unavailable";
      if (initial && this.firstHeader === "" && count === 0) this.firstHeader = `${HEADER.recovered}:unavailable\n`;
    }
    outcome ??= fellBack ?? "complete";
    if (initial && outcome !== undefined && count === 0 && this.firstHeader === "") this.firstHeader = `${HEADER.recovered}:${outcome}\n`;
    if (this.last !== undefined) this.o.onRecovered?.(this.last);
    this.release();
    return outcome;
  }

  /** Ends a replay: live messages held meanwhile go out, minus what the replay already sent. */
  private release(): void {
    this.recovering = false;
    const held = this.pending;
    this.pending = [];
    for (let i = 0; i < held.length; i++) {
      if (this.recovering) {
        // A hole among the held messages started another re-read: they wait for it.
        this.pending.push(...held.slice(i));
        return;
      }
      const m = held[i]!;
      const extra = this.admit(m);
      if (extra !== null && this.o.sink.open) this.o.sink.send(m, extra);
    }
  }

  private async drained(): Promise<void> {
    while (!this.closed && this.o.sink.open && this.o.sink.bufferedAmount() > this.o.highWaterBytes / 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
