import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { backoffDelay, DEFAULT_RETRY_POLICY, QUEUE_NAME, validateNotification, type NotificationJob, type NotificationProcessor, type RetryPolicy, type RetryProgress } from "@herald/queue";
import type { Logger, Registry } from "@herald/observability";
import { QUEUE_STATES, workerMetrics } from "./worker-metrics.js";

export interface BullmqWorkerOptions {
  /** ioredis connection made for BullMQ (maxRetriesPerRequest: null); shared, not closed by stop(). */
  connection: Redis | Cluster;
  processor: NotificationProcessor;
  logger: Logger;
  registry: Registry;
  /** Jobs in parallel. Default 50 (HERALD_WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Attempts and exponential backoff. Default 5 attempts from 1 s, doubling, capped at 60 s. */
  retry?: Partial<RetryPolicy>;
  queueName?: string;
  /** BullMQ key prefix; must match the queue's. Default "bull". */
  prefix?: string;
  maxBodyBytes?: number;
  /** A crashed worker's jobs go back to waiting after lockDuration and the next stalled check. Defaults 30 s / 30 s. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often herald_queue_jobs is refreshed from BullMQ's counts; 0 disables. Default 5000. */
  queueGaugeIntervalMs?: number;
}

export interface RunningWorker {
  readonly worker: Worker<NotificationJob>;
  /** Reads BullMQ's counts into herald_queue_jobs now. */
  refreshQueueGauge(): Promise<void>;
  /** Stops taking jobs and waits for the ones in flight to finish. */
  stop(): Promise<void>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A BullMQ worker for Herald's queue. Retries belong to the worker, not to the job's
 * options (a backend may add jobs with none): a failed attempt records its reason
 * as the job's progress and moves the job to delayed with exponential backoff; the
 * last one fails the job for good (UnrecoverableError), which keeps it in the failed set.
 */
export function startBullmqWorker(options: BullmqWorkerOptions): RunningWorker {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const metrics = workerMetrics(options.registry);
  const log = options.logger;
  const queueName = options.queueName ?? QUEUE_NAME;
  const prefix = options.prefix !== undefined ? { prefix: options.prefix } : {};

  const run = async (job: Job<NotificationJob>, token?: string): Promise<void> => {
    const id = job.id!;
    const v = validateNotification(job.data, { createdAt: job.timestamp, maxBodyBytes: options.maxBodyBytes });
    if (!v.ok) throw new UnrecoverableError(`invalid notification: ${v.field}: ${v.error}`);
    // attemptsStarted counts every start, including restarts after a crash (stalled job).
    const attempt = Math.max(1, job.attemptsStarted ?? 1);
    const end = metrics.duration.startTimer();
    try {
      await options.processor(v.value, id);
    } catch (err) {
      const reason = message(err);
      if (attempt < policy.attempts) {
        const delay = backoffDelay(policy, attempt);
        log.warn({ id, attempt, delayMs: delay, err: reason }, "notification attempt failed; retrying");
        const progress: RetryProgress = { attempts: attempt, reason };
        await job.updateProgress(progress as unknown as object);
        await job.moveToDelayed(Date.now() + delay, token);
        metrics.retried.inc();
        throw new DelayedError();
      }
      throw new UnrecoverableError(`gave up after ${attempt} attempts: ${reason}`);
    } finally {
      end();
    }
  };

  const worker = new Worker<NotificationJob>(queueName, run, {
    connection: options.connection,
    ...prefix,
    concurrency: options.concurrency ?? 50,
    // Restarted after a crash up to 3 times before it counts as failed.
    maxStalledCount: 3,
    ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
  });
  worker.on("completed", (job) => {
    metrics.completed.inc();
    const createdAt = typeof job.data?.createdAt === "number" ? job.data.createdAt : job.timestamp;
    metrics.age.observe(Math.max(0, Date.now() - createdAt) / 1000);
  });
  worker.on("failed", (job, err) => {
    metrics.failed.inc();
    log.error({ id: job?.id, err: message(err) }, "notification failed for good; kept in the failed set");
  });
  worker.on("error", (err) => log.error({ err: message(err) }, "BullMQ worker error"));

  const counts = new Queue(queueName, { connection: options.connection, ...prefix });
  counts.on("error", () => {});
  const refreshQueueGauge = async (): Promise<void> => {
    const c = await counts.getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) metrics.queueJobs.set({ state }, c[state] ?? 0);
  };
  const every = options.queueGaugeIntervalMs ?? 5000;
  const timer = every > 0 ? setInterval(() => void refreshQueueGauge().catch(() => {}), every) : undefined;
  timer?.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (timer) clearInterval(timer);
      await worker.close();
      await counts.close();
    })());

  return { worker, refreshQueueGauge, stop };
}
