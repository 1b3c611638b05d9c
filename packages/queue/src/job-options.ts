import type { JobsOptions } from "bullmq";

/**
 * Options Herald puts on every job it enqueues; backends adding jobs themselves
 * should pass them too (README). Retries are the worker's policy, not the job's:
 * a job added with no options is retried all the same.
 */
export const NOTIFICATION_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  // Delivered jobs stay a day, so GET /v1/notifications/{id} answers for a day.
  removeOnComplete: { age: 24 * 60 * 60, count: 100_000 },
  // Failed jobs are the ones an operator investigates: keep them a week.
  removeOnFail: { age: 7 * 24 * 60 * 60, count: 100_000 },
});
