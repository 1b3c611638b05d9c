import { TokenBucket } from "@herald/auth";

/** One token bucket per principal (API key); a rate of 0 turns limiting off. */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** 0 when the request may proceed, else milliseconds until it may be retried. */
  take(principal: string): number {
    if (this.ratePerSec <= 0) return 0;
    let bucket = this.buckets.get(principal);
    if (!bucket) this.buckets.set(principal, (bucket = new TokenBucket(this.ratePerSec, this.burst)));
    return bucket.take() ? 0 : Math.max(1, bucket.msUntilAvailable());
  }
}
