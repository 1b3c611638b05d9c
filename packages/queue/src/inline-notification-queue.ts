import { randomUUID } from "node:crypto";
import type { NotificationJob, NotificationProcessor, NotificationState } from "./notification.js";
import type { BatchEnqueueOptions, BatchItemResult, EnqueueOptions, EnqueueResult, NotificationQueue } from "./notification-queue.js";
import { assertNotification, validateNotification } from "./validate.js";
import { ExpiringMap } from "./expiring-map.js";
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.js";
import { IDEMPOTENCY_TTL_SECONDS } from "./limits.js";
import { IdempotencyConflictError, IDEMPOTENCY_CONFLICT, notificationFingerprint, scopedIdempotencyKey } from "./idempotency.js";

export interface InlineQueueOptions {
  retry?: Partial<RetryPolicy>;
  /** States kept for getState; the oldest are forgotten first. Default 100,000. */
  maxStates?: number;
  /** Idempotency keys remembered (each for 24 h). Default 100,000. */
  maxIdempotencyKeys?: number;
  maxBodyBytes?: number;
  /** Called when a job is given up on (for logs). */
  onFailed?: (id: string, job: NotificationJob, reason: string) => void;
}

/**
 * The embedded default: no Redis, jobs handed to the processor on the next tick in
 * this process. Not durable: a crash loses queued jobs, which is the embedded
 * trade-off (production runs BullmqNotificationQueue).
 */
export class InlineNotificationQueue implements NotificationQueue {
  private readonly states = new Map<string, NotificationState>();
  /** Scoped idempotency key → the id it returned and the fingerprint of its notification. */
  private readonly keys: ExpiringMap<{ id: string; fingerprint: string }>;
  private readonly retry: RetryPolicy;
  private readonly maxStates: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private idle: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly processor: NotificationProcessor,
    private readonly options: InlineQueueOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.maxStates = options.maxStates ?? 100_000;
    this.keys = new ExpiringMap(IDEMPOTENCY_TTL_SECONDS * 1000, options.maxIdempotencyKeys ?? 100_000);
  }

  async enqueue(job: NotificationJob, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    this.assertOpen();
    const value = assertNotification(job, { maxBodyBytes: this.options.maxBodyBytes });
    const r = this.accept(value, opts.idempotencyKey ?? value.idempotencyKey, opts.idempotencyScope);
    if (r === "conflict") throw new IdempotencyConflictError();
    return r;
  }

  async enqueueBatch(jobs: readonly NotificationJob[], opts: BatchEnqueueOptions = {}): Promise<BatchItemResult[]> {
    this.assertOpen();
    return jobs.map((job) => {
      const r = validateNotification(job, { maxBodyBytes: this.options.maxBodyBytes });
      if (!r.ok) return { error: r.error, field: r.field };
      const accepted = this.accept(r.value, r.value.idempotencyKey, opts.idempotencyScope);
      return accepted === "conflict" ? { error: IDEMPOTENCY_CONFLICT, field: "idempotencyKey" } : accepted;
    });
  }

  async getState(id: string): Promise<NotificationState | undefined> {
    return this.states.get(id);
  }

  /** Stops accepting jobs, drops pending retries, waits for the jobs being processed. */
  async close(): Promise<void> {
    this.closed = true;
    // A scheduled retry counts as running; a cancelled one must not keep close() waiting.
    this.running -= this.timers.size;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Synchronous from lookup to claim, so concurrent duplicates cannot both get through. */
  private accept(job: NotificationJob, key: string | undefined, scope: string | undefined): EnqueueResult | "conflict" {
    const scoped = key === undefined ? undefined : scopedIdempotencyKey(key, scope);
    const fingerprint = scoped === undefined ? "" : notificationFingerprint(job);
    if (scoped !== undefined) {
      const seen = this.keys.get(scoped);
      if (seen !== undefined) return seen.fingerprint === fingerprint ? { id: seen.id, duplicate: true } : "conflict";
    }
    const id = randomUUID();
    if (scoped !== undefined) this.keys.set(scoped, { id, fingerprint });
    this.setState({ id, state: "queued", attempts: 0 });
    this.running++;
    setImmediate(() => void this.run(id, job, 1));
    return { id, duplicate: false };
  }

  private async run(id: string, job: NotificationJob, attempt: number): Promise<void> {
    try {
      await this.processor(job, id);
      this.setState({ id, state: "delivered", attempts: attempt });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (attempt < this.retry.attempts && !this.closed) {
        this.setState({ id, state: "queued", reason, attempts: attempt });
        this.running++;
        const t = setTimeout(() => {
          this.timers.delete(t);
          void this.run(id, job, attempt + 1);
        }, backoffDelay(this.retry, attempt));
        this.timers.add(t);
      } else {
        this.setState({ id, state: "failed", reason, attempts: attempt });
        this.options.onFailed?.(id, job, reason);
      }
    } finally {
      this.running--;
      if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private setState(state: NotificationState): void {
    this.states.delete(state.id);
    this.states.set(state.id, state);
    while (this.states.size > this.maxStates) {
      const oldest = this.states.keys().next().value;
      if (oldest === undefined) break;
      this.states.delete(oldest);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("InlineNotificationQueue is closed");
  }
}
