/**
 * The notification job: what a backend asks Herald to deliver. It is the payload of a
 * BullMQ job (JSON), so every field is plain data.
 */
export interface NotificationJob {
  /**
   * Broker destination (`/topic/x` or `/queue/x`), or with `user` the user's
   * destination as the client subscribes to it without the `/user` prefix
   * (`/queue/notifications` reaches sessions subscribed to `/user/queue/notifications`).
   */
  readonly destination: string;
  /** Deliver only to this user's sessions. */
  readonly user?: string;
  /** The STOMP body, as text (binary bodies are not part of the HTTP/queue contract). */
  readonly body: string;
  readonly contentType: string;
  /** Extra STOMP headers of the MESSAGE frame. */
  readonly headers: Readonly<Record<string, string>>;
  /** Same key within 24 h: same notification id, nothing enqueued again. */
  readonly idempotencyKey?: string;
  /** Milliseconds since the epoch when the notification was accepted. */
  readonly createdAt: number;
}

/** Where a notification is: waiting or retrying, published to the bus, or given up on. */
export type NotificationStateName = "queued" | "delivered" | "failed";

export interface NotificationState {
  readonly id: string;
  readonly state: NotificationStateName;
  /** Why the last attempt failed (for `failed`, and for `queued` while retrying). */
  readonly reason?: string;
  /** Processing attempts so far. */
  readonly attempts?: number;
}

/** Hands one notification to the bus; rejects when it should be retried. */
export type NotificationProcessor = (job: NotificationJob, id: string) => Promise<void>;
