import type { Principal } from "../principal.js";
import { conditionHolds } from "./conditions.js";
import { MAX_DESTINATION_LENGTH, normalizeDestination } from "./destination.js";
import { DEFAULT_ACL, type AclRule, type AclRules } from "./rules.js";

export type Decision = { allowed: true } | { allowed: false; reason: string };

export interface Authorizer {
  /** May this principal (undefined = anonymous) SUBSCRIBE to the destination? */
  canSubscribe(principal: Principal | undefined, destination: string): Decision;
  /** May this principal SEND to the destination? */
  canSend(principal: Principal | undefined, destination: string): Decision;
}

export interface AuthorizerOptions {
  /** Longest destination accepted; default 1024 characters. */
  readonly maxDestinationLength?: number;
}

const ALLOWED: Decision = Object.freeze({ allowed: true });

function ruleLabel(rule: AclRule): string {
  const where = rule.index >= 0 ? `rule ${rule.index}` : "the default rules";
  return rule.name && rule.index >= 0 ? `${where} (${rule.name})` : where;
}

/**
 * Rules are tried in order; the first whose action, pattern and `when` all
 * match decides (allow or deny). When none matches, the answer is no.
 * Every destination goes through normalizeDestination first.
 */
export function createAuthorizer(rules: AclRules = DEFAULT_ACL, opts: AuthorizerOptions = {}): Authorizer {
  const maxLength = opts.maxDestinationLength ?? MAX_DESTINATION_LENGTH;
  const decide = (action: "subscribe" | "send", principal: Principal | undefined, destination: string): Decision => {
    const verb = action === "subscribe" ? "SUBSCRIBE" : "SEND";
    const n = normalizeDestination(destination, maxLength);
    // The refused destination is not echoed: it may hold control characters.
    if (!n.ok) return { allowed: false, reason: `${verb} refused: ${n.reason}` };
    for (const rule of rules.rules) {
      const patterns = action === "subscribe" ? rule.subscribe : rule.send;
      if (!patterns.some((p) => p.matches(n.destination, principal))) continue;
      if (!rule.when.every((c) => conditionHolds(c, principal))) continue;
      return rule.effect === "allow" ? ALLOWED : { allowed: false, reason: `${verb} to ${n.destination} refused by ${ruleLabel(rule)}` };
    }
    return { allowed: false, reason: `${verb} to ${n.destination} refused: no rule allows it` };
  };
  return {
    canSubscribe: (principal, destination) => decide("subscribe", principal, destination),
    canSend: (principal, destination) => decide("send", principal, destination),
  };
}
