/**
 * Classic token bucket: holds up to `burst` tokens, refills at `ratePerSec`.
 * Starts full. Times are milliseconds (Date.now() by default); a clock that
 * steps back only pauses refilling.
 */
export class TokenBucket {
  // Kept in thousandths of a token: with whole rates and millisecond clocks the
  // refill is integer arithmetic, so 0.1 + 0.1 + … never falls short of 1.
  private milli: number;
  private readonly capacity: number;
  private last: number | undefined;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {
    if (!Number.isFinite(ratePerSec) || ratePerSec <= 0) throw new RangeError(`TokenBucket ratePerSec must be a positive number, got ${ratePerSec}`);
    if (!Number.isFinite(burst) || burst < 1) throw new RangeError(`TokenBucket burst must be at least 1, got ${burst}`);
    this.capacity = burst * 1000;
    this.milli = this.capacity;
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) this.milli = Math.min(this.capacity, this.milli + (now - this.last) * this.ratePerSec);
    if (this.last === undefined || now > this.last) this.last = now;
  }

  /** Takes one token; false when the bucket is empty (the caller refuses or delays the action). */
  take(now: number = Date.now()): boolean {
    this.refill(now);
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }

  /** Milliseconds until a token will be available (0 when one is now). */
  msUntilAvailable(now: number = Date.now()): number {
    this.refill(now);
    return this.milli >= 1000 ? 0 : Math.ceil((1000 - this.milli) / this.ratePerSec);
  }
}
