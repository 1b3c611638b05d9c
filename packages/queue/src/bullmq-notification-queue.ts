import { createHash, randomUUID } from "node:crypto";
import { Queue, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { NotificationJob, NotificationState } from "./notification.js";
import type { BatchEnqueueOptions, BatchItemResult, EnqueueOptions, EnqueueResult, NotificationQueue } from "./notification-queue.js";
import { assertNotification, validateNotification } from "./validate.js";
import { IDEMPOTENCY_TTL_SECONDS } from "./limits.js";
import { IdempotencyConflictError, IDEMPOTENCY_CONFLICT, notificationFingerprint, scopedIdempotencyKey } from "./idempotency.js";
import { CLAIM_FINGERPRINTS_LUA, CLAIM_MARGIN_MS } from "./fingerprint-claim.js";
import { JOB_NAME, QUEUE_NAME } from "./names.js";
import { NOTIFICATION_JOB_OPTIONS } from "./job-options.js";
import { readProgress } from "./job-progress.js";

export interface BullmqQueueOptions {
  /** An ioredis connection (from @herald/redis createRedisClient); shared, not closed by close(). */
  connection: Redis | Cluster;
  queueName?: string;
  /** BullMQ key prefix. Default "bull" (BullMQ's own default, so backends need not set one). */
  prefix?: string;
  maxBodyBytes?: number;
  /** An enqueue that Redis has not confirmed within this time fails (the API answers 503). Default 5000. */
  timeoutMs?: number;
}

/** Redis did not confirm an enqueue in time (down or overloaded): the job may not be stored. */
export class QueueUnavailableError extends Error {
  override readonly name = "QueueUnavailableError";
}

/** A valid job about to be stored; `dedupId` is set when it has an idempotency key. */
type Pending = { index: number; id: string; job: NotificationJob; dedupId?: string };

/**
 * Durable queue on BullMQ. Idempotency uses BullMQ's own deduplication with a 24 h
 * TTL, so claiming a key and adding its job are one atomic step: there is never a
 * claimed key without its job, even when Redis fails half-way. The fingerprint of the
 * notification a key was first used for sits next to it (fingerprint-claim.ts) and is
 * checked first, so a key reused for a different notification is refused.
 */
export class BullmqNotificationQueue implements NotificationQueue {
  readonly queue: Queue<NotificationJob>;
  private readonly timeoutMs: number;

  constructor(private readonly options: BullmqQueueOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.queue = new Queue<NotificationJob>(options.queueName ?? QUEUE_NAME, {
      connection: options.connection,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      defaultJobOptions: { ...NOTIFICATION_JOB_OPTIONS },
    });
    // Connection errors surface through the failing calls; an unhandled 'error' event would crash.
    this.queue.on("error", () => {});
  }

  async enqueue(job: NotificationJob, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    const value = assertNotification(job, { maxBodyBytes: this.options.maxBodyBytes });
    const [result] = await this.store([this.pending(0, value, opts.idempotencyKey ?? value.idempotencyKey, opts.idempotencyScope)]);
    if (result === "conflict") throw new IdempotencyConflictError();
    return result as EnqueueResult;
  }

  async enqueueBatch(jobs: readonly NotificationJob[], opts: BatchEnqueueOptions = {}): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(jobs.length);
    const pending: Pending[] = [];
    jobs.forEach((job, index) => {
      const r = validateNotification(job, { maxBodyBytes: this.options.maxBodyBytes });
      if (r.ok) pending.push(this.pending(index, r.value, r.value.idempotencyKey, opts.idempotencyScope));
      else results[index] = { error: r.error, field: r.field };
    });
    const stored = await this.store(pending);
    pending.forEach((p, i) => {
      const s = stored[i]!;
      results[p.index] = s === "conflict" ? { error: IDEMPOTENCY_CONFLICT, field: "idempotencyKey" } : s;
    });
    return results;
  }

  async getState(id: string): Promise<NotificationState | undefined> {
    const job = (await this.withTimeout(this.queue.getJob(id), "getState")) as Job<NotificationJob> | undefined;
    if (!job) return undefined;
    const state = await this.withTimeout(job.getState(), "getState");
    const progress = readProgress(job.progress);
    const attempts = Math.max(job.attemptsStarted ?? 0, job.attemptsMade ?? 0, progress?.attempts ?? 0);
    switch (state) {
      case "completed":
        return { id, state: "delivered", attempts };
      case "failed":
        return { id, state: "failed", reason: job.failedReason ?? "unknown", attempts };
      case "unknown":
        return undefined;
      default:
        return { id, state: "queued", attempts, ...(progress?.reason !== undefined ? { reason: progress.reason } : {}) };
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private pending(index: number, job: NotificationJob, key: string | undefined, scope: string | undefined): Pending {
    const p: Pending = { index, id: randomUUID(), job };
    if (key !== undefined) p.dedupId = createHash("sha256").update(scopedIdempotencyKey(key, scope)).digest("hex");
    return p;
  }

  /**
   * Keyed items first claim their key's fingerprint (one script for all of them), then
   * one addBulk (one round trip) stores the items that may go ahead. An item with an
   * idempotency key carries BullMQ deduplication `{ id: sha256(scope + key), ttl: 24 h }`:
   * BullMQ's add script claims the key and adds the job atomically, or answers with
   * the id that holds it.
   */
  private async store(items: Pending[]): Promise<Array<EnqueueResult | "conflict">> {
    const keyed = items.filter((it) => it.dedupId !== undefined);
    const refused = new Set<Pending>();
    if (keyed.length > 0) {
      const verdicts = await this.withTimeout(this.claimFingerprints(keyed), "enqueue");
      keyed.forEach((it, i) => verdicts[i] !== 1 && refused.add(it));
    }
    const adding = items.filter((it) => !refused.has(it));
    const opts = (it: Pending) => ({
      ...NOTIFICATION_JOB_OPTIONS,
      jobId: it.id,
      ...(it.dedupId !== undefined ? { deduplication: { id: it.dedupId, ttl: IDEMPOTENCY_TTL_SECONDS * 1000 } } : {}),
    });
    const jobs =
      adding.length === 0
        ? []
        : adding.length === 1
          ? [await this.withTimeout(this.queue.add(JOB_NAME, adding[0]!.job, opts(adding[0]!)), "enqueue")]
          : await this.withTimeout(this.queue.addBulk(adding.map((it) => ({ name: JOB_NAME, data: it.job, opts: opts(it) }))), "enqueue");
    const stored = new Map(adding.map((it, i) => [it, jobs[i]?.id ?? it.id]));
    return items.map((it) => {
      const id = stored.get(it);
      return id === undefined ? "conflict" : { id, duplicate: id !== it.id };
    });
  }

  private async claimFingerprints(items: Pending[]): Promise<unknown[]> {
    const keys = items.flatMap((it) => [this.queue.toKey(`idem:${it.dedupId!}`), this.queue.toKey(`de:${it.dedupId!}`)]);
    const args = [String(IDEMPOTENCY_TTL_SECONDS * 1000), String(CLAIM_MARGIN_MS), ...items.map((it) => notificationFingerprint(it.job))];
    const answer = await this.options.connection.eval(CLAIM_FINGERPRINTS_LUA, keys.length, ...keys, ...args);
    return Array.isArray(answer) ? answer : [];
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`${what}: Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
