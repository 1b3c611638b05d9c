import type { StompVersion } from "@herald/stomp";
import type { DisconnectReason, EdgeMetrics } from "./metrics.js";
import type { TransportKind } from "./session/transport.js";
import type { SlowConsumerPolicy } from "./edge-config.js";

// Records keyed by the union types, so adding a reason/transport/version without
// listing it here is a compile error rather than a silently missing series.
const DISCONNECT_REASONS: Record<DisconnectReason, true> = {
  "client-close": true,
  "client-disconnect": true,
  "heartbeat-timeout": true,
  "connect-timeout": true,
  "auth-failure": true,
  "token-expired": true,
  "protocol-error": true,
  "slow-consumer": true,
  limit: true,
  drain: true,
};
const TRANSPORTS: Record<TransportKind, true> = { websocket: true, sockjs: true };
const VERSIONS: Record<StompVersion, true> = { "1.0": true, "1.1": true, "1.2": true };
const POLICIES: Record<SlowConsumerPolicy, true> = { close: true, drop: true };

/**
 * Gives every known label value of the edge's labelled metrics a series at 0.
 * prom-client shows a labelled metric only after its first inc()/set(), so without
 * this a fresh node has no `herald_connections`, no disconnect reasons and no
 * slow-consumer counter: dashboards show "No data" and rate() alerts cannot fire on
 * the first event. Call once per registry, right after edgeMetrics().
 */
export function initEdgeMetrics(metrics: EdgeMetrics): void {
  for (const transport of Object.keys(TRANSPORTS) as TransportKind[]) {
    metrics.connects.inc({ transport }, 0);
    for (const version of Object.keys(VERSIONS) as StompVersion[]) metrics.connections.inc({ transport, version }, 0);
  }
  for (const reason of Object.keys(DISCONNECT_REASONS) as DisconnectReason[]) metrics.disconnects.inc({ reason }, 0);
  for (const policy of Object.keys(POLICIES) as SlowConsumerPolicy[]) metrics.slowConsumers.inc({ policy }, 0);
  metrics.framesOut.inc({ command: "MESSAGE" }, 0);
  metrics.messagesDelivered.inc(0);
}
