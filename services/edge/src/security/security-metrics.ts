import { counter, type Registry } from "@herald/observability";

/** Refusals by the security layer. Labels are reasons and actions, never a user or a destination. */
export function securityMetrics(registry: Registry) {
  return {
    authFailures: counter(registry, "auth_failures_total", "Refused credentials at CONNECT or token refresh, by AuthError reason", ["reason"]),
    aclDenials: counter(registry, "acl_denials_total", "SUBSCRIBE/SEND refused by the destination policy", ["action"]),
    limitRejections: counter(registry, "limit_rejections_total", "Requests refused by a limit", ["limit"]),
  };
}

export type SecurityMetrics = ReturnType<typeof securityMetrics>;
