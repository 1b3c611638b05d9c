import { TokenBucket } from "@herald/auth";
import type { Logger } from "@herald/observability";
import type { StompSession } from "../session/session.js";

/**
 * One token bucket per connection for one kind of client frame (SEND, SUBSCRIBE): rate per
 * second, burst. Buckets live as long as their session (WeakMap), created full on first use.
 * Returns the message for the ERROR frame when a session is over its rate; the session counts
 * it as herald_limit_rejections_total{limit="send-rate"|"subscribe-rate"}.
 */
export function createFrameRateLimiter(command: "SEND" | "SUBSCRIBE", ratePerSec: number, burst: number, logger: Logger): (session: StompSession) => string | undefined {
  const buckets = new WeakMap<StompSession, TokenBucket>();
  return (session) => {
    let bucket = buckets.get(session);
    if (!bucket) buckets.set(session, (bucket = new TokenBucket(ratePerSec, burst)));
    if (bucket.take()) return undefined;
    logger.info({ session: session.id, user: session.principal?.user, rate: ratePerSec, burst }, `${command} refused: over the rate limit`);
    return `more than ${ratePerSec} ${command} frames per second (burst ${burst}) on this connection`;
  };
}
