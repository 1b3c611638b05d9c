import { ConfigError, readEnum, type Env } from "@herald/config";

/**
 * Who takes the connections on PORT. "direct": uWebSockets.js, the fast path.
 * "compat": a Node.js relay (CompatFront) that also answers HTTP/1.0 and closes
 * TLS sent to the plain port at once, at the price of every byte crossing Node.js.
 */
export type Listener = "direct" | "compat";

/** HERALD_LISTENER (direct); "compat" is plain HTTP only, so not with HERALD_TLS_CERT. */
export function listenerFromEnv(env: Env, tls: boolean): Listener {
  const listener = readEnum(env, "HERALD_LISTENER", ["direct", "compat"] as const, "direct");
  if (listener === "compat" && tls) {
    throw new ConfigError("HERALD_LISTENER", "compat relays plain HTTP and cannot serve TLS: unset HERALD_TLS_CERT/HERALD_TLS_KEY (terminate TLS at a proxy), or use direct");
  }
  return listener;
}
