import { AuthError } from "./errors.js";
import type { Principal } from "./principal.js";

/**
 * Milliseconds until the principal's token expires (0 when already past), or
 * undefined when it never does. The edge arms one timer with this on CONNECT and
 * on every refresh, and at zero sends an ERROR and closes, even to a subscriber
 * that never sends anything. `graceMs` (e.g. the verifier's clockToleranceMs)
 * is added so a token accepted within the tolerance is not cut off at once.
 */
export function msUntilExpiry(principal: Principal | undefined, now: number = Date.now(), graceMs = 0): number | undefined {
  if (principal?.expiresAt === undefined) return undefined;
  return Math.max(0, principal.expiresAt + graceMs - now);
}

/**
 * A session may swap its token for a fresh one only for the same user. Returns
 * the principal to keep (the new one) or throws AuthError("user-changed").
 */
export function checkRefresh(current: Principal, next: Principal): Principal {
  if (current.user !== next.user)
    throw new AuthError("user-changed", "a refreshed token must name the same user as the session's token");
  return next;
}
