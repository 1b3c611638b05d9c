export { createNotificationProcessor, toBusMessage } from "./notification-processor.js";
export type { ProcessorDeps, NotificationPublisher } from "./notification-processor.js";
export { startBullmqWorker } from "./bullmq-worker.js";
export type { BullmqWorkerOptions, RunningWorker } from "./bullmq-worker.js";
export { workerConfigFromEnv } from "./worker-config.js";
export type { WorkerConfig } from "./worker-config.js";
export { workerMetrics, QUEUE_STATES } from "./worker-metrics.js";
