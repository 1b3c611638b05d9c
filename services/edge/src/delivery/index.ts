export { Delivery, type DeliveryOptions, type StreamRequest } from "./delivery.js";
export { deliveryConfigFromEnv, deadLetterDestination, type DeliveryConfig } from "./delivery-config.js";
export { HEADER as DELIVERY_HEADERS, DeliveryHeaderError, parseSincePosition, parseDurableName, type RecoveryOutcome } from "./delivery-headers.js";
export { DurableCursor, encodeCursor, decodeCursor, type CursorStore, type CursorState } from "./cursor-store.js";
export { MemoryCursorStore } from "./memory-cursor-store.js";
export { RedisCursorStore, type CursorRedisClient, type RedisCursorStoreOptions } from "./redis-cursor-store.js";
export { GapFillingBus, type GapFillingBusOptions } from "./gap-filling-bus.js";
export { SubscriptionStream, type StreamSink, type SubscriptionStreamOptions } from "./subscription-stream.js";
