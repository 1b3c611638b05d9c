/**
 * The worker records a retry's attempt count and reason as the BullMQ job's progress
 * (the job stays queued while it waits for its next attempt), so getState can say why.
 */
export interface RetryProgress {
  readonly attempts: number;
  readonly reason: string;
}

export function readProgress(progress: unknown): RetryProgress | undefined {
  if (typeof progress !== "object" || progress === null) return undefined;
  const p = progress as Record<string, unknown>;
  if (typeof p.attempts !== "number" || typeof p.reason !== "string") return undefined;
  return { attempts: p.attempts, reason: p.reason };
}
