import { counter, gauge, histogram, type Registry } from "@herald/observability";

export const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;
export type QueueStateLabel = (typeof QUEUE_STATES)[number];

/** The worker's metrics; get-or-create, so two workers in one process share them. */
export function workerMetrics(registry: Registry) {
  return {
    completed: counter(registry, "jobs_completed_total", "Notification jobs published to the bus"),
    failed: counter(registry, "jobs_failed_total", "Notification jobs given up on (kept in the failed set)"),
    retried: counter(registry, "job_retries_total", "Notification job attempts that failed and were scheduled again"),
    duration: histogram(registry, "job_duration_seconds", "Time to process one attempt of a notification job", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
    age: histogram(registry, "job_age_seconds", "Time from acceptance to publication of a notification", [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600]),
    queueJobs: gauge(registry, "queue_jobs", "Notification jobs in BullMQ, by state", ["state"] as const),
  };
}
export type WorkerMetrics = ReturnType<typeof workerMetrics>;
