import { userBusDestination, type Bus, type BusMessage } from "@herald/bus";
import type { NotificationJob, NotificationProcessor } from "@herald/queue";
import { counter, type Logger, type Registry } from "@herald/observability";

/**
 * Publishes through history where the destination keeps it (PublishRouter of @herald/history):
 * the message is stored with its position and published in one step, so it waits for an
 * offline user and a reconnecting client can recover it.
 */
export interface NotificationPublisher {
  publish(message: BusMessage): Promise<BusMessage>;
}

export interface ProcessorDeps {
  bus: Bus;
  /** When present every notification goes through it instead of straight onto the bus. */
  publisher?: NotificationPublisher;
  logger: Logger;
  registry: Registry;
}

/** The bus message for a notification: its id is the notification id (the STOMP message-id). */
export function toBusMessage(job: NotificationJob, id: string): BusMessage {
  return {
    id,
    destination: job.user !== undefined ? userBusDestination(job.user, job.destination) : job.destination,
    headers: job.headers,
    contentType: job.contentType,
    body: Buffer.from(job.body, "utf8"),
    publishedAt: job.createdAt,
  };
}

/**
 * Turns a notification into a bus message and publishes it (through history where kept). Rejections (BusUnavailableError, history errors) mean "retry later".
 */
export function createNotificationProcessor(deps: ProcessorDeps): NotificationProcessor {
  const published = counter(deps.registry, "notifications_published_total", "Notifications published on the bus, by kind of destination", ["kind"] as const);
  return async (job, id) => {
    let message = toBusMessage(job, id);
    if (deps.publisher) message = await deps.publisher.publish(message);
    else await deps.bus.publish(message);
    published.inc({ kind: job.user !== undefined ? "user" : job.destination.startsWith("/topic/") ? "topic" : "queue" });
    deps.logger.debug({ id, destination: message.destination }, "notification published");
  };
}
