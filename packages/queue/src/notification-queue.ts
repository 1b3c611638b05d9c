import type { NotificationJob, NotificationState } from "./notification.js";

export interface BatchEnqueueOptions {
  /**
   * Whose idempotency keys these are (the API passes a fingerprint of the caller's API
   * key): the same key in two scopes names two notifications. Omitted: the shared scope.
   */
  idempotencyScope?: string;
}

export interface EnqueueOptions extends BatchEnqueueOptions {
  /**
   * Overrides job.idempotencyKey: the same key within 24 h, for the same notification,
   * returns the first id and enqueues nothing; for a different notification it is
   * refused (IdempotencyConflictError).
   */
  idempotencyKey?: string;
}

export interface EnqueueResult {
  readonly id: string;
  /** True when the idempotency key was seen before: nothing was enqueued. */
  readonly duplicate: boolean;
}

export type BatchItemResult = EnqueueResult | { readonly error: string; readonly field: string };

export function isBatchError(r: BatchItemResult): r is { readonly error: string; readonly field: string } {
  return "error" in r;
}

/**
 * Where the API (and Node backends through the same contract) put notifications.
 * Implementations: BullmqNotificationQueue (Redis, durable) and
 * InlineNotificationQueue (in-process, the embedded default).
 */
export interface NotificationQueue {
  /**
   * Validates and durably enqueues one job; resolves with its id once it is stored.
   * Rejects with NotificationValidationError for an invalid job, and with
   * IdempotencyConflictError for a key already used for a different notification.
   */
  enqueue(job: NotificationJob, opts?: EnqueueOptions): Promise<EnqueueResult>;
  /**
   * Enqueues many jobs in one round trip (plus one for idempotency keys when any job
   * has one). Each result is at the index of its job: an id, or why it was rejected
   * (a reused key with a different notification: field `idempotencyKey`).
   */
  enqueueBatch(jobs: readonly NotificationJob[], opts?: BatchEnqueueOptions): Promise<BatchItemResult[]>;
  /** undefined for ids that were never enqueued or have expired. */
  getState(id: string): Promise<NotificationState | undefined>;
  close(): Promise<void>;
}
