import { normalizeDestination, type Authorizer } from "@herald/auth";
import type { DestinationPolicy, Principal } from "../session/principal.js";
import type { SecurityMetrics } from "./security-metrics.js";

/**
 * The rules file (or the built-in rules) as the session's DestinationPolicy.
 * Every destination is checked for canonical form first (no encodings, dot
 * segments or control characters), then against the rules. `/user/queue/**`
 * always means the caller's own queue: the session maps it to the principal,
 * `/user/<someone>/…` never passes, and anonymous sessions get no user destination.
 */
export class AclDestinationPolicy implements DestinationPolicy {
  constructor(
    private readonly authorizer: Authorizer,
    private readonly metrics: SecurityMetrics,
  ) {}

  canSubscribe(principal: Principal | undefined, destination: string): string | undefined {
    return this.decide("subscribe", principal, destination);
  }

  canSend(principal: Principal | undefined, destination: string): string | undefined {
    return this.decide("send", principal, destination);
  }

  private decide(action: "subscribe" | "send", principal: Principal | undefined, destination: string): string | undefined {
    const reason = this.check(action, principal, destination);
    if (reason !== undefined) this.metrics.aclDenials.inc({ action });
    return reason;
  }

  private check(action: "subscribe" | "send", principal: Principal | undefined, destination: string): string | undefined {
    const n = normalizeDestination(destination);
    if (!n.ok) return n.reason;
    if (!principal && n.destination.startsWith("/user/")) return "user destinations need an authenticated user";
    const d = action === "subscribe" ? this.authorizer.canSubscribe(principal, n.destination) : this.authorizer.canSend(principal, n.destination);
    return d.allowed ? undefined : d.reason;
  }
}
