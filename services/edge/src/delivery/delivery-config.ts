import { readInt, type Env } from "@herald/config";

export interface DeliveryConfig {
  /** Messages replayed at most per SUBSCRIBE (HERALD_RECOVERY_MAX, default 10000). */
  readonly recoveryMax: number;
  /** Deliveries after NACKs before a message goes to the dead-letter destination (HERALD_MAX_REDELIVERIES, default 5). */
  readonly maxRedeliveries: number;
  /** Messages per history read during a replay. */
  readonly pageSize: number;
  /** Largest hole in a destination's bus stream that a node re-reads (HERALD_MAX_GAP_FILL, default 10000). */
  readonly maxGapFill: number;
  /** How long an acknowledgement may wait before the durable cursor is written (HERALD_CURSOR_FLUSH_MS, default 200). */
  readonly cursorFlushMs: number;
  /** Dead letters: `/queue/dlq` + the original bus destination, kept this long and this many. */
  readonly deadLetterHistory: { readonly maxMessages: number; readonly ttlSeconds: number };
}

export function deliveryConfigFromEnv(env: Env): DeliveryConfig {
  return {
    recoveryMax: readInt(env, "HERALD_RECOVERY_MAX", 10_000, { min: 1, max: 1_000_000 }),
    maxRedeliveries: readInt(env, "HERALD_MAX_REDELIVERIES", 5, { min: 0, max: 1000 }),
    pageSize: 500,
    maxGapFill: readInt(env, "HERALD_MAX_GAP_FILL", 10_000, { min: 1, max: 1_000_000 }),
    cursorFlushMs: readInt(env, "HERALD_CURSOR_FLUSH_MS", 200, { min: 0, max: 60_000 }),
    deadLetterHistory: {
      maxMessages: readInt(env, "HERALD_DLQ_MAX", 10_000, { min: 1, max: 10_000_000 }),
      ttlSeconds: readInt(env, "HERALD_DLQ_TTL_S", 7 * 86_400, { min: 1, max: 365 * 86_400 }),
    },
  };
}

export { DEAD_LETTER_PREFIX, deadLetterDestination } from "../routing/destinations.js";
