import { aclRulesFromEnv, createAuthorizer, createTokenVerifier, DEFAULT_ACL, jwtConfigFromEnv, limitsConfigFromEnv, OPEN_ACL, type ReservedPrefix } from "@herald/auth";
import type { Env } from "@herald/config";
import type { Logger, Registry } from "@herald/observability";
import type { EdgeNodeOptions } from "../edge-node.js";
import { AclDestinationPolicy } from "./acl-policy.js";
import { ConnectionAdmission } from "./connection-admission.js";
import { JwtAuthenticator } from "./jwt-authenticator.js";
import { createFrameRateLimiter } from "./frame-rate-limiter.js";
import { securityMetrics } from "./security-metrics.js";
import { DEAD_LETTER_PREFIX } from "../routing/destinations.js";

/** Dead letters hold other users' private messages: no wildcard rule reaches them by accident. */
const DEAD_LETTERS: ReservedPrefix = {
  prefix: DEAD_LETTER_PREFIX,
  description: "dead letters are readable by their own user (at /user/queue/dlq/…) and by whoever a rule names them for",
};

/**
 * The limits this module adds. The others (frame size, subscriptions, CONNECT
 * timeout, node cap, API rate) are read by the edge and API configs already:
 * hiding them here keeps one reader, and one validation, per variable.
 */
const NEW_LIMIT_VARIABLES = [
  "HERALD_MAX_CONNECTIONS_PER_USER",
  "HERALD_MAX_CONNECTIONS_PER_ADDRESS",
  "HERALD_SEND_RATE",
  "HERALD_SEND_BURST",
  "HERALD_SUBSCRIBE_RATE",
  "HERALD_SUBSCRIBE_BURST",
] as const;

function onlyNewLimits(env: Env): Env {
  return Object.fromEntries(NEW_LIMIT_VARIABLES.map((name) => [name, env[name]]));
}

export type EdgeSecurity = Required<Pick<EdgeNodeOptions, "admission" | "sendLimiter" | "subscribeLimiter" | "policy">> & Pick<EdgeNodeOptions, "authenticator">;

/**
 * The edge's security from the environment, as EdgeNode options:
 * - a JWT key set (HERALD_JWT_*): JwtAuthenticator and the ACL policy (rules file, or the strict
 *   built-in rules: SEND to /app/** only);
 * - no key: no authenticator (EdgeNode's OpenAuthenticator, which says it is open: anyone may
 *   connect, as with Spring's simple broker), and the rules file or the open built-in rules, which
 *   also let clients SEND to /topic/** and /queue/** as Spring's simple broker does;
 * - either way dead letters (/queue/dlq/**) are opened only by a rule that names them;
 * - always: connections per user / per address and the SEND and SUBSCRIBE rates (limitsConfigFromEnv).
 * Every mistake in the settings is a ConfigError naming the variable or the rules file.
 */
export function edgeSecurityFromEnv(env: Env, deps: { registry: Registry; logger: Logger }): EdgeSecurity {
  const { registry, logger } = deps;
  const metrics = securityMetrics(registry);
  for (const action of ["subscribe", "send"] as const) metrics.aclDenials.inc({ action }, 0);
  for (const limit of ["connections-per-user", "connections-per-address", "send-rate", "subscribe-rate"]) metrics.limitRejections.inc({ limit }, 0);
  const jwt = jwtConfigFromEnv(env);
  const rules = aclRulesFromEnv(env) ?? (jwt ? DEFAULT_ACL : OPEN_ACL);
  const limits = limitsConfigFromEnv(onlyNewLimits(env));
  const authenticator = jwt ? new JwtAuthenticator(createTokenVerifier(jwt), metrics, logger) : undefined;
  const policy = new AclDestinationPolicy(createAuthorizer(rules, { reserved: [DEAD_LETTERS] }), metrics);
  return {
    ...(authenticator ? { authenticator } : {}),
    policy,
    admission: new ConnectionAdmission(limits, logger),
    sendLimiter: createFrameRateLimiter("SEND", limits.sendRatePerSec, limits.sendBurst, logger),
    subscribeLimiter: createFrameRateLimiter("SUBSCRIBE", limits.subscribeRatePerSec, limits.subscribeBurst, logger),
  };
}
