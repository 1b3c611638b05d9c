import { USER_PREFIX } from "@herald/bus";
import { compilePattern } from "./destination-pattern.js";
import { checkOptions, HistoryError, type HistoryOptions } from "./history.js";

/** History kept for destinations matching `pattern` (see destination-pattern.ts). */
export interface HistoryRule extends HistoryOptions {
  pattern: string;
}

export interface HistoryPolicyConfig {
  /** History of every user destination (`/user/**` on the bus). Default DEFAULT_USER_HISTORY. */
  user?: HistoryOptions;
  /** Other destinations (`/topic/**`, `/queue/**`) keep history only when a rule matches; the first match wins. */
  rules?: readonly HistoryRule[];
}

export const DEFAULT_USER_HISTORY: HistoryOptions = Object.freeze({ maxMessages: 1000, ttlSeconds: 86_400 });

/** Decides which destinations keep history, and with which cap and TTL. */
export interface HistoryPolicy {
  /** The options for a bus destination, or undefined when it keeps no history. */
  optionsFor(destination: string): HistoryOptions | undefined;
}

/**
 * User destinations always keep history (user queues are the notifications a user must not
 * miss); topics and plain queues only when configured, since a broadcast stream is often
 * better reloaded than replayed.
 */
export function historyPolicy(config: HistoryPolicyConfig = {}): HistoryPolicy {
  const user = config.user ?? DEFAULT_USER_HISTORY;
  checkOptions(user, "/user/**");
  const userOptions: HistoryOptions = Object.freeze({ maxMessages: user.maxMessages, ttlSeconds: user.ttlSeconds });
  const rules = (config.rules ?? []).map((r) => {
    if (typeof r?.pattern !== "string") throw new HistoryError(`history rule needs a pattern, got ${JSON.stringify(r)}`);
    if (r.pattern.startsWith(USER_PREFIX)) throw new HistoryError(`history rule "${r.pattern}": user destinations always keep history; set their cap and TTL with the user options`);
    if (r.pattern.startsWith("/app/")) throw new HistoryError(`history rule "${r.pattern}": /app destinations go to handlers, never to the bus, and have no history`);
    checkOptions(r, r.pattern);
    return { re: compilePattern(r.pattern), options: Object.freeze({ maxMessages: r.maxMessages, ttlSeconds: r.ttlSeconds }) as HistoryOptions };
  });
  return {
    optionsFor(destination: string): HistoryOptions | undefined {
      if (destination.startsWith(USER_PREFIX)) return userOptions;
      for (const r of rules) if (r.re.test(destination)) return r.options;
      return undefined;
    },
  };
}
