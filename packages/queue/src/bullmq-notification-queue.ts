import { createHash, randomUUID } from "node:crypto";
import { Queue, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { NotificationJob, NotificationState } from "./notification.js";
import type { BatchItemResult, EnqueueOptions, EnqueueResult, NotificationQueue } from "./notification-queue.js";
import { assertNotification, validateNotification } from "./validate.js";
import { IDEMPOTENCY_TTL_SECONDS } from "./limits.js";
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

type Pending = { index: number; id: string; job: NotificationJob; key?: string };

/**
 * Durable queue on BullMQ. Idempotency uses BullMQ's own deduplication with a 24 h
 * TTL, so claiming a key and adding its job are one atomic step: there is never a
 * claimed key without its job, even when Redis fails half-way.
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
    const [result] = await this.store([{ index: 0, id: randomUUID(), job: value, key: opts.idempotencyKey ?? value.idempotencyKey }]);
    return result as EnqueueResult;
  }

  async enqueueBatch(jobs: readonly NotificationJob[]): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(jobs.length);
    const pending: Pending[] = [];
    jobs.forEach((job, index) => {
      const r = validateNotification(job, { maxBodyBytes: this.options.maxBodyBytes });
      if (r.ok) pending.push({ index, id: randomUUID(), job: r.value, key: r.value.idempotencyKey });
      else results[index] = { error: r.error, field: r.field };
    });
    const stored = await this.store(pending);
    pending.forEach((p, i) => (results[p.index] = stored[i] as EnqueueResult));
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

  /**
   * One addBulk (one round trip) for all items. An item with an idempotency key
   * carries BullMQ deduplication `{ id: sha256(key), ttl: 24 h }`: BullMQ's add script
   * claims the key and adds the job atomically, or answers with the id that holds it.
   */
  private async store(items: Pending[]): Promise<EnqueueResult[]> {
    if (items.length === 0) return [];
    const opts = (it: Pending) => ({
      ...NOTIFICATION_JOB_OPTIONS,
      jobId: it.id,
      ...(it.key !== undefined ? { deduplication: { id: this.dedupId(it.key), ttl: IDEMPOTENCY_TTL_SECONDS * 1000 } } : {}),
    });
    const jobs =
      items.length === 1
        ? [await this.withTimeout(this.queue.add(JOB_NAME, items[0]!.job, opts(items[0]!)), "enqueue")]
        : await this.withTimeout(this.queue.addBulk(items.map((it) => ({ name: JOB_NAME, data: it.job, opts: opts(it) }))), "enqueue");
    return items.map((it, i) => {
      const id = jobs[i]?.id ?? it.id;
      return { id, duplicate: id !== it.id };
    });
  }

  private dedupId(key: string): string {
    return createHash("sha256").update(key).digest("hex");
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`${what}: Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
