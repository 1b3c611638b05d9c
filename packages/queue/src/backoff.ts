/** Retry policy shared by the inline queue and the BullMQ worker. */
export interface RetryPolicy {
  /** Total processing attempts, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; doubles for each further one. */
  readonly backoffMs: number;
  /** Upper bound of one delay. */
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, backoffMs: 1000, maxBackoffMs: 60_000 };

/** Delay after failed attempt number `attempt` (1-based): backoff * 2^(attempt-1), capped, ±20 % jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
  // Jitter spreads retries of many jobs that failed together (a bus outage) over time.
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())));
}
