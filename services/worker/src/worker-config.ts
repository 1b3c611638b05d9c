import { readBytes, readInt, type Env } from "@herald/config";
import { DEFAULT_MAX_BODY_BYTES } from "@herald/queue";
import type { RetryPolicy } from "@herald/queue";

export interface WorkerConfig {
  /** Jobs processed in parallel by one worker process. */
  concurrency: number;
  retry: RetryPolicy;
  /** Largest notification body accepted; the same knob as the API's (HERALD_API_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** BullMQ job lock; a job of a crashed worker (or one active when Redis died) is retried after it. BullMQ default 30 s. */
  lockDurationMs?: number;
  /** How often BullMQ looks for such stalled jobs. BullMQ default 30 s. */
  stalledIntervalMs?: number;
}

/**
 * HERALD_WORKER_CONCURRENCY (50), HERALD_WORKER_ATTEMPTS (5), HERALD_WORKER_BACKOFF_MS (1000),
 * HERALD_WORKER_MAX_BACKOFF_MS (60000), HERALD_API_MAX_BODY_BYTES (64KiB, shared with the API),
 * HERALD_WORKER_LOCK_MS and HERALD_WORKER_STALLED_INTERVAL_MS (BullMQ's defaults, 30000, when unset).
 */
export function workerConfigFromEnv(env: Env): WorkerConfig {
  return {
    concurrency: readInt(env, "HERALD_WORKER_CONCURRENCY", 50, { min: 1, max: 10_000 }),
    retry: {
      attempts: readInt(env, "HERALD_WORKER_ATTEMPTS", 5, { min: 1, max: 100 }),
      backoffMs: readInt(env, "HERALD_WORKER_BACKOFF_MS", 1000, { min: 0 }),
      maxBackoffMs: readInt(env, "HERALD_WORKER_MAX_BACKOFF_MS", 60_000, { min: 0 }),
    },
    maxBodyBytes: readBytes(env, "HERALD_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
    ...(env["HERALD_WORKER_LOCK_MS"] !== undefined ? { lockDurationMs: readInt(env, "HERALD_WORKER_LOCK_MS", 30_000, { min: 1000 }) } : {}),
    ...(env["HERALD_WORKER_STALLED_INTERVAL_MS"] !== undefined ? { stalledIntervalMs: readInt(env, "HERALD_WORKER_STALLED_INTERVAL_MS", 30_000, { min: 500 }) } : {}),
  };
}
