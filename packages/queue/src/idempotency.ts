import { createHash } from "node:crypto";
import type { NotificationJob } from "./notification.js";

/**
 * Reusing an idempotency key for a different notification. The first notification's
 * id is not returned: the caller made a mistake (or two callers share a key), and
 * answering with an id for a notification it did not send would hide it.
 */
export class IdempotencyConflictError extends Error {
  override readonly name = "IdempotencyConflictError";
  readonly field = "idempotencyKey";
  constructor() {
    super(IDEMPOTENCY_CONFLICT);
  }
}

export const IDEMPOTENCY_CONFLICT = "this idempotency key was already used in the last 24 h for a different notification; use a new key for a new notification";

const SCOPE = /^[\x21-\x7e]{1,128}$/;

/**
 * The key under which an idempotency key is remembered. Scopes (one per API key)
 * keep two callers' keys apart; no scope is the shared one. Keys are printable ASCII,
 * so the newline cannot be forged from inside a key.
 */
export function scopedIdempotencyKey(key: string, scope: string | undefined): string {
  if (scope === undefined) return key;
  if (!SCOPE.test(scope)) throw new RangeError("idempotencyScope must be 1 to 128 visible ASCII characters");
  return `${scope}\n${key}`;
}

/**
 * SHA-256 (hex) of what the notification delivers: destination, user, body, content
 * type and headers (sorted). Not createdAt (the server's clock) nor the key itself,
 * so a retry of the same request always has the same fingerprint.
 */
export function notificationFingerprint(job: NotificationJob): string {
  const headers = Object.entries(job.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([job.destination, job.user ?? null, job.body, job.contentType, headers]);
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}
