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

/**
 * Destinations under `prefix` are opened only by a rule that names the prefix outright: an allow
 * rule counts for them only through a pattern whose literal part starts with the prefix
 * (`/queue/dlq/**` opens `/queue/dlq/…`; `/queue/**` does not). Deny rules apply as usual.
 */
export interface ReservedPrefix {
  readonly prefix: string;
  /** Said in the refusal: what these destinations are and how to reach them. */
  readonly description: string;
}

export interface AuthorizerOptions {
  /** Longest destination accepted; default 1024 characters. */
  readonly maxDestinationLength?: number;
  readonly reserved?: readonly ReservedPrefix[];
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
  const reservedList = opts.reserved ?? [];
  const decide = (action: "subscribe" | "send", principal: Principal | undefined, destination: string): Decision => {
    const verb = action === "subscribe" ? "SUBSCRIBE" : "SEND";
    const n = normalizeDestination(destination, maxLength);
    // The refused destination is not echoed: it may hold control characters.
    if (!n.ok) return { allowed: false, reason: `${verb} refused: ${n.reason}` };
    const reserved = reservedList.find((r) => n.destination.startsWith(r.prefix));
    for (const rule of rules.rules) {
      const patterns = action === "subscribe" ? rule.subscribe : rule.send;
      const matching = patterns.filter((p) => p.matches(n.destination, principal));
      if (matching.length === 0) continue;
      if (!rule.when.every((c) => conditionHolds(c, principal))) continue;
      if (rule.effect === "deny") return { allowed: false, reason: `${verb} to ${n.destination} refused by ${ruleLabel(rule)}` };
      if (reserved && !matching.some((p) => p.literalPrefix.startsWith(reserved.prefix))) continue;
      return ALLOWED;
    }
    if (reserved) return { allowed: false, reason: `${verb} to ${n.destination} refused: ${reserved.description}; only a rule whose pattern starts with ${reserved.prefix} opens them` };
    return { allowed: false, reason: `${verb} to ${n.destination} refused: no rule allows it` };
  };
  return {
    canSubscribe: (principal, destination) => decide("subscribe", principal, destination),
    canSend: (principal, destination) => decide("send", principal, destination),
  };
}
