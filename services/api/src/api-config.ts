import { readBytes, readInt, readList, type Env } from "@herald/config";

export interface ApiConfig {
  /** Accepted `Authorization: Bearer` keys; empty = loopback clients only. */
  apiKeys: readonly string[];
  /** Requests per second per API key (loopback clients share one bucket); 0 = unlimited. */
  ratePerSec: number;
  /** Requests a key may make at once before the rate applies. */
  burst: number;
  /** Largest request body of POST /v1/notifications, and of one notification's body. */
  maxBodyBytes: number;
  /** Most notifications in one POST /v1/notifications/batch. */
  maxBatch: number;
  /** Largest request body of POST /v1/notifications/batch. */
  maxBatchBytes: number;
}

export const DEFAULT_API_CONFIG: ApiConfig = {
  apiKeys: [],
  ratePerSec: 1000,
  burst: 1000,
  maxBodyBytes: 64 * 1024,
  maxBatch: 500,
  maxBatchBytes: 4 * 1024 * 1024,
};

/**
 * HERALD_API_KEYS (comma list), HERALD_API_RATE (1000/s, 0 = off), HERALD_API_BURST (= rate),
 * HERALD_API_MAX_BODY_BYTES (64KiB), HERALD_API_MAX_BATCH (500), HERALD_API_MAX_BATCH_BYTES (4MiB).
 */
export function apiConfigFromEnv(env: Env): ApiConfig {
  const ratePerSec = readInt(env, "HERALD_API_RATE", DEFAULT_API_CONFIG.ratePerSec, { min: 0 });
  return {
    apiKeys: readList(env, "HERALD_API_KEYS"),
    ratePerSec,
    burst: readInt(env, "HERALD_API_BURST", Math.max(1, ratePerSec), { min: 1 }),
    maxBodyBytes: readBytes(env, "HERALD_API_MAX_BODY_BYTES", DEFAULT_API_CONFIG.maxBodyBytes),
    maxBatch: readInt(env, "HERALD_API_MAX_BATCH", DEFAULT_API_CONFIG.maxBatch, { min: 1, max: 100_000 }),
    maxBatchBytes: readBytes(env, "HERALD_API_MAX_BATCH_BYTES", DEFAULT_API_CONFIG.maxBatchBytes),
  };
}
