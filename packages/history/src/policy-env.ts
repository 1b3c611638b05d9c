import { ConfigError, readInt, readList, type Env } from "@herald/config";
import { DEFAULT_USER_HISTORY, historyPolicy, type HistoryPolicy, type HistoryPolicyConfig, type HistoryRule } from "./policy.js";

/**
 * The history policy from the environment:
 *
 *   HERALD_HISTORY_USER_MAX     messages kept per user destination (default 1000)
 *   HERALD_HISTORY_USER_TTL_S   seconds a user destination's history lives after its last message (default 86400)
 *   HERALD_HISTORY_TOPICS       comma list of <pattern>:<max>:<ttlSeconds>, e.g. /topic/prices.**:500:3600
 */
export function historyConfigFromEnv(env: Env): HistoryPolicyConfig {
  const user = {
    maxMessages: readInt(env, "HERALD_HISTORY_USER_MAX", DEFAULT_USER_HISTORY.maxMessages, { min: 1, max: 10_000_000 }),
    ttlSeconds: readInt(env, "HERALD_HISTORY_USER_TTL_S", DEFAULT_USER_HISTORY.ttlSeconds, { min: 1, max: 365 * 86_400 }),
  };
  const rules = readList(env, "HERALD_HISTORY_TOPICS").map((item) => parseRule(item));
  const config = { user, rules };
  try {
    historyPolicy(config);
  } catch (err) {
    throw new ConfigError("HERALD_HISTORY_TOPICS", (err as Error).message);
  }
  return config;
}

export function historyPolicyFromEnv(env: Env): HistoryPolicy {
  return historyPolicy(historyConfigFromEnv(env));
}

const VAR = "HERALD_HISTORY_TOPICS";
const FORM = "expected <pattern>:<maxMessages>:<ttlSeconds>, e.g. /topic/prices.**:500:3600";

function parseRule(item: string): HistoryRule {
  const ttlAt = item.lastIndexOf(":");
  const maxAt = ttlAt > 0 ? item.lastIndexOf(":", ttlAt - 1) : -1;
  if (ttlAt < 0 || maxAt < 0) throw new ConfigError(VAR, `"${item}": ${FORM}`);
  const pattern = item.slice(0, maxAt).trim();
  const max = item.slice(maxAt + 1, ttlAt).trim();
  const ttl = item.slice(ttlAt + 1).trim();
  if (pattern === "") throw new ConfigError(VAR, `"${item}": the pattern is empty; ${FORM}`);
  if (!/^\d+$/.test(max) || Number(max) < 1) throw new ConfigError(VAR, `"${item}": maxMessages "${max}" must be a whole number >= 1`);
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1) throw new ConfigError(VAR, `"${item}": ttlSeconds "${ttl}" must be a whole number >= 1`);
  return { pattern, maxMessages: Number(max), ttlSeconds: Number(ttl) };
}
