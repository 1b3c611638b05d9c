import { counter, gauge, histogram, type Registry } from "@herald/observability";

export type DisconnectReason =
  | "client-close"
  | "client-disconnect"
  | "heartbeat-timeout"
  | "connect-timeout"
  | "auth-failure"
  | "token-expired"
  | "protocol-error"
  | "slow-consumer"
  | "limit"
  | "drain";

/** The edge's metrics. Labels stay low-cardinality: never a user or a destination. */
export function edgeMetrics(registry: Registry) {
  return {
    connections: gauge(registry, "connections", "Open client connections", ["transport", "version"]),
    connects: counter(registry, "connects_total", "Accepted transport connections", ["transport"]),
    disconnects: counter(registry, "disconnects_total", "Closed connections by reason", ["reason"]),
    subscriptions: gauge(registry, "subscriptions", "Active STOMP subscriptions on this node"),
    destinations: gauge(registry, "destinations", "Distinct destinations subscribed on this node"),
    framesIn: counter(registry, "frames_in_total", "STOMP frames received", ["command"]),
    framesOut: counter(registry, "frames_out_total", "STOMP frames sent (MESSAGE counted per delivery)", ["command"]),
    bytesIn: counter(registry, "bytes_in_total", "Bytes received from clients"),
    bytesOut: counter(registry, "bytes_out_total", "Bytes of STOMP frames handed to client sockets"),
    messagesDelivered: counter(registry, "messages_delivered_total", "MESSAGE frames handed to client sockets"),
    deliveryLatency: histogram(
      registry,
      "delivery_latency_seconds",
      "From publish at the origin to hand-off to the sockets of this node",
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    slowConsumers: counter(registry, "slow_consumer_total", "Connections over the outbound limit, by policy applied", ["policy"]),
    errorsSent: counter(registry, "stomp_errors_total", "ERROR frames sent, by kind", ["kind"]),
    upgradesRefused: counter(registry, "upgrades_refused_total", "WebSocket upgrades refused", ["reason"]),
    limitRejections: counter(registry, "limit_rejections_total", "Requests refused by a limit", ["limit"]),
    // Shared with the destination policy (get-or-create): the session counts the refusals it makes itself.
    aclDenials: counter(registry, "acl_denials_total", "SUBSCRIBE/SEND refused by the destination policy", ["action"]),
  };
}

export type EdgeMetrics = ReturnType<typeof edgeMetrics>;
