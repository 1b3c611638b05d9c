export { EdgeNode, type EdgeNodeOptions } from "./edge-node.js";
export { edgeConfigFromEnv, originAllowed, type EdgeConfig, type SlowConsumerPolicy } from "./edge-config.js";
export { mountStompWebSocket, negotiateSubprotocol } from "./transports/websocket.js";
export { mountStompSockJs, sockjsConfigFromEnv, frameToSockJsMessage, type SockJsConfig } from "./transports/sockjs.js";
export { mountDemo } from "./http/demo.js";
export { serveStatic, type StaticFile } from "./http/static-files.js";
export { StompSession } from "./session/session.js";
export type { SessionTransport, NativeTopics, TransportKind } from "./session/transport.js";
export { CloseCode } from "./session/transport.js";
export type { Authenticator, DestinationPolicy, Principal, ConnectContext } from "./session/principal.js";
export { AccessDenied } from "./session/principal.js";
export { OpenAuthenticator, OPEN_POLICY } from "./session/open-access.js";
export { AppHandlers, defaultAppHandlers, type AppHandler, type AppMessage, type AppContext, type OutgoingMessage } from "./routing/app-handlers.js";
export { SubscriptionRegistry, type Subscription, type AckMode } from "./fanout/subscription-registry.js";
export { edgeMetrics, type EdgeMetrics, type DisconnectReason } from "./metrics.js";
export { edgeSecurityFromEnv, type EdgeSecurity } from "./security/edge-security.js";
export { JwtAuthenticator } from "./security/jwt-authenticator.js";
export { AclDestinationPolicy } from "./security/acl-policy.js";
export { ConnectionAdmission, type ConnectionAdmissionLimits } from "./security/connection-admission.js";
export { TrustedProxies, trustedProxiesFromEnv, normalizeAddress } from "./security/client-address.js";
export { createFrameRateLimiter } from "./security/frame-rate-limiter.js";
export { securityMetrics, type SecurityMetrics } from "./security/security-metrics.js";
export {
  Delivery,
  deliveryConfigFromEnv,
  deadLetterDestination,
  DELIVERY_HEADERS,
  MemoryCursorStore,
  RedisCursorStore,
  GapFillingBus,
  type DeliveryConfig,
  type CursorStore,
  type CursorRedisClient,
  type RecoveryOutcome,
} from "./delivery/index.js";
export { initEdgeMetrics } from "./metrics-init.js";
