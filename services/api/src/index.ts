export { mountApi } from "./mount-api.js";
export type { ApiDeps } from "./mount-api.js";
export { apiConfigFromEnv, DEFAULT_API_CONFIG } from "./api-config.js";
export type { ApiConfig } from "./api-config.js";
export { buildOpenApi } from "./openapi.js";
export { ROUTES, openApiPath } from "./routes.js";
export type { Route, RouteId } from "./routes.js";
export { ApiKeys, isLoopbackAddress } from "./api-keys.js";
export { requestToJob } from "./notification-request.js";
